package generator_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ginstream/ginstream/generator"
)

// Follow run by a Group: the last two lines of a log file, then a line
// appended to it. Breaking out of the loop stops the follower and closes
// the file.
func ExampleFollow() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.log")
	if err := os.WriteFile(path, []byte("starting\nlistening on :8080\nready\n"), 0o644); err != nil {
		panic(err)
	}

	s := generator.Start(context.Background(), generator.Options{}, generator.Follow(path, generator.FollowOptions{Lines: 2}))
	n := 0
	for line, err := range s.All() {
		if err != nil {
			panic(err)
		}
		fmt.Println(line)
		if n++; n == 2 {
			// A logger appends a line.
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				panic(err)
			}
			f.WriteString("GET /stream/logs 200\n")
			f.Close()
		}
		if n == 3 {
			break
		}
	}
	// Output:
	// listening on :8080
	// ready
	// GET /stream/logs 200
}
