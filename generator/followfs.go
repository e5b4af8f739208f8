package generator

import (
	"io"
	"io/fs"
	"os"
)

// logFile is what Follow needs of an open file; *os.File implements it.
type logFile interface {
	io.ReaderAt
	io.Closer
	Stat() (fs.FileInfo, error)
}

// fileSystem opens and inspects files for Follow. Rotation is detected
// with os.SameFile, so Stat and logFile.Stat must return the operating
// system's file information.
type fileSystem interface {
	Open(name string) (logFile, error)
	Stat(name string) (fs.FileInfo, error)
}

// osFS is the operating system's file system.
type osFS struct{}

func (osFS) Open(name string) (logFile, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err // not a nil *os.File in an interface
	}
	return f, nil
}

func (osFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }
