package handlers

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/gin-gonic/gin"
	"github.com/ginstream/ginstream/sink"
)

// Files serves the regular files of a directory, the way net/http's
// ServeContent does: the content type from the name's extension (sniffed
// when the extension is unknown), Content-Length, Last-Modified, an ETag
// made of the modification time and size (unless a middleware has set one),
// Range requests (206, multipart for several ranges, 416 for unsatisfiable
// ones — also for a suffix range of no bytes, "bytes=-0", which
// ServeContent alone answers with an invalid 206; a suffix range of an
// empty file gets the file whole, with 200; more than MaxRanges ranges, or
// ranges that overlap, get the file whole, with 200, since a multipart body
// of many small ranges can be many times larger than the file) and
// conditional requests (304 for If-None-Match and If-Modified-Since,
// If-Range). Files are sent as
// they are: a .gz file goes out as the gzip bytes, with no
// Content-Encoding.
//
//	reports, err := os.OpenRoot("data/reports")
//	if err != nil { ... }
//	defer reports.Close() // after the server has stopped
//	files := handlers.Files{Root: reports}.Handler()
//	r.GET("/reports/:name", files)
//	r.HEAD("/reports/:name", files)
//
// The name is the value of the route's last parameter (:name above, or a
// catch-all such as *path, which reaches files in subdirectories; its
// leading slash is ignored), and must be a clean
// slash-separated path inside Root (see io/fs.ValidPath), without
// backslashes or NUL bytes. Anything else — "..", an absolute path, a
// symbolic link leading out of Root, a directory, a missing file — is
// answered 404. A file that exists but must not or cannot be read (no
// permission; a FIFO, socket or device) is answered 403, and a system
// failure 500, each with a one-line text/plain body naming the file and what
// is wrong. Every regular file under Root is served, dotfiles included: keep
// only public files there. A file that shrinks while it is being sent ends
// in a failed transfer (the connection closes short of Content-Length),
// never in a short body that looks complete.
//
// On Linux the body goes out with sendfile: the handler writes through the
// http.ResponseWriter beneath gin's own (whose lack of ReadFrom makes
// Context.File copy through a 32 KiB buffer), while c.Writer keeps counting
// the status and size for gin's logger. When a middleware has replaced
// c.Writer (to compress, say), it writes through that writer instead.
type Files struct {
	// Root is the directory served. It must not be nil. Nothing outside
	// it is ever opened, whatever the name or the symbolic links in it.
	// The caller owns Root and closes it once the server has stopped.
	Root *os.Root

	// Authorize, if not nil, decides whether the request may have the
	// file, given its name, before it is opened; see [Authorizer]. A file
	// is sent whole, so until is not used.
	Authorize Authorizer

	// Attachment makes browsers download the file, under its base name,
	// instead of displaying it (see [Attachment]).
	Attachment bool
}

// Handler returns the gin handler that answers a request with the file its
// route's last parameter names; see [Files]. Register it for GET and HEAD.
// Handler panics if Root is nil.
func (f Files) Handler() gin.HandlerFunc {
	if f.Root == nil {
		panic("handlers: Files.Root is nil")
	}
	return f.serve
}

// serve answers c with the file its route's last parameter names.
func (f Files) serve(c *gin.Context) {
	var name string
	if n := len(c.Params); n > 0 {
		name = strings.TrimPrefix(c.Params[n-1].Value, "/")
	}
	if _, ok := f.Authorize.check(c, name, sink.Config{}); !ok {
		return
	}

	file, info, err := f.open(name)
	if err != nil {
		fileError(c, name, err)
		return
	}
	defer file.Close()

	h := c.Writer.Header()
	if h.Get("Etag") == "" {
		h.Set("Etag", etag(info))
	}
	h.Set("X-Content-Type-Options", "nosniff")
	if f.Attachment {
		Attachment(c, path.Base(name))
	}
	req := c.Request
	if ranges := req.Header.Get("Range"); ranges != "" {
		if fixed := satisfiableRanges(ranges, info.Size()); fixed != ranges {
			req = req.Clone(req.Context())
			if fixed == "" {
				req.Header.Del("Range")
			} else {
				req.Header.Set("Range", fixed)
			}
		}
	}
	http.ServeContent(bodyWriter(c), req, name, info.ModTime(), file)
}

// satisfiableRanges returns a Range header for http.ServeContent that
// asks for what ranges asks for of a file of size bytes, less the ranges
// that ServeContent would answer with an invalid 206 (golang.org/issue/81262):
// a suffix range of length zero ("bytes=-0"), which selects no byte and
// which ServeContent sends with a Content-Range such as "bytes 20-19/20",
// and any suffix range of an empty file ("bytes 0--1/0"). Such ranges are
// unsatisfiable (RFC 9110, section 14.1.1). A header that holds nothing
// else becomes one that ServeContent answers 416 with "Content-Range:
// bytes */size" — or, for an empty file, none at all (""), so that the
// file is sent whole with 200, as ServeContent does for "bytes=0-" there.
// A header whose ranges would amplify the answer (see amplifies) becomes
// "", the whole file. Any other header is returned unchanged, malformed
// ones included, which ServeContent answers 416.
func satisfiableRanges(ranges string, size int64) string {
	const unit = "bytes="
	if !strings.HasPrefix(ranges, unit) {
		return ranges
	}
	trim := func(s string) string { return strings.Trim(s, " \t\r\n") } // as ServeContent trims
	specs := strings.Split(ranges[len(unit):], ",")
	kept := specs[:0:0]
	for _, spec := range specs {
		start, end, _ := strings.Cut(trim(spec), "-")
		if start, end = trim(start), trim(end); start == "" && end != "" && end[0] != '-' {
			if n, err := strconv.ParseInt(end, 10, 64); err == nil && (n == 0 || size == 0) {
				continue // a suffix of no bytes
			}
		}
		kept = append(kept, spec)
	}
	switch {
	case amplifies(kept, size):
		return "" // the whole file
	case len(kept) == len(specs):
		return ranges
	case trim(strings.Join(kept, "")) != "":
		return unit + strings.Join(kept, ",")
	case size == 0:
		return ""
	}
	return unit + strconv.FormatInt(size, 10) + "-" // 416
}

// MaxRanges is the most ranges a Range request to [Files] may ask for; a
// request for more gets the whole file (RFC 9110, section 14.2, lets a
// server ignore such a header), so that no answer is much larger than the
// file.
const MaxRanges = 16

// amplifies reports whether the byte ranges specs of a file of size bytes
// would make a multipart answer out of proportion to the file: more than
// MaxRanges of them, or two that overlap. Malformed specs are left to
// ServeContent, which answers them 416.
func amplifies(specs []string, size int64) bool {
	if len(specs) <= 1 {
		return false
	}
	if len(specs) > MaxRanges {
		return true
	}
	type span struct{ start, end int64 } // end inclusive
	spans := make([]span, 0, len(specs))
	for _, spec := range specs {
		first, last, ok := strings.Cut(strings.Trim(spec, " \t\r\n"), "-")
		if !ok {
			return false
		}
		first, last = strings.Trim(first, " \t\r\n"), strings.Trim(last, " \t\r\n")
		var sp span
		switch n, err := strconv.ParseInt(last, 10, 64); {
		case first == "" && err == nil && n >= 0: // the last n bytes
			sp = span{max(size-n, 0), size - 1}
		case first == "":
			return false
		default:
			start, err1 := strconv.ParseInt(first, 10, 64)
			end := size - 1
			if last != "" {
				if end, err = strconv.ParseInt(last, 10, 64); err != nil {
					return false
				}
			}
			if err1 != nil || start < 0 || end < start {
				return false
			}
			sp = span{start, min(end, size-1)}
		}
		if sp.start < size { // an unsatisfiable range adds no part
			spans = append(spans, sp)
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	for i := 1; i < len(spans); i++ {
		if spans[i].start <= spans[i-1].end {
			return true
		}
	}
	return false
}

// Reasons a name is refused before or after opening it.
var (
	errBadName    = errors.New("not a clean relative path")
	errDirectory  = errors.New("is a directory")
	errNotRegular = errors.New("not a regular file")
)

// open opens the regular file name in f.Root.
func (f Files) open(name string) (*os.File, fs.FileInfo, error) {
	if !fs.ValidPath(name) || name == "." || strings.ContainsAny(name, "\\\x00") {
		return nil, nil, &fs.PathError{Op: "open", Path: name, Err: errBadName}
	}
	// O_NONBLOCK: opening a FIFO must not wait for a writer. It does not
	// change how a regular file is read.
	file, err := f.Root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	info, err := file.Stat()
	switch {
	case err != nil:
	case info.IsDir():
		err = &fs.PathError{Op: "open", Path: name, Err: errDirectory}
	case !info.Mode().IsRegular():
		err = &fs.PathError{Op: "open", Path: name, Err: errNotRegular}
	default:
		return file, info, nil
	}
	file.Close()
	return nil, nil, err
}

// fileStatus returns the status that answers a file that could not be
// opened: 404 when the name names nothing servable in the root, 403 when it
// names a file that must not or cannot be read, 500 when the system failed.
func fileStatus(err error) int {
	var errno syscall.Errno
	switch {
	case errors.Is(err, fs.ErrPermission), errors.Is(err, errNotRegular):
		return http.StatusForbidden
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, errBadName), errors.Is(err, errDirectory):
		return http.StatusNotFound
	case !errors.As(err, &errno):
		// Refused by os.Root itself, not the system: the path escapes
		// the root through a symbolic link.
		return http.StatusNotFound
	case errno == syscall.ENOTDIR, errno == syscall.ELOOP,
		errno == syscall.ENAMETOOLONG, errno == syscall.EINVAL:
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// fileError answers a request for the file name that failed with err, and
// records err for gin's logger.
func fileError(c *gin.Context, name string, err error) {
	code := fileStatus(err)
	var why string
	switch {
	case code == http.StatusNotFound:
		why = "no such file"
	case errors.Is(err, errNotRegular):
		why = "not a regular file"
	case code == http.StatusForbidden:
		why = "the file is not readable"
	default:
		why = "the file cannot be opened"
	}
	_ = c.Error(err)
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(code, "text/plain; charset=utf-8",
		fmt.Appendf(nil, "%d %s: %q: %s\n", code, http.StatusText(code), name, why))
	c.Abort()
}

// etag returns a strong entity tag for a file from its modification time
// and size, so that If-Range works as well as If-None-Match.
func etag(info fs.FileInfo) string {
	return `"` + strconv.FormatInt(info.ModTime().UnixNano(), 36) + "-" +
		strconv.FormatInt(info.Size(), 36) + `"`
}

// ginWriter is the type of gin's own response writer, which is unexported.
// It adds nothing to the bytes written through it, so it is the one writer
// that Serve may look beneath.
var ginWriter = reflect.TypeOf(gin.CreateTestContextOnly(nil, new(gin.Engine)).Writer)

// bodyWriter returns the writer for the body of c's response. If c.Writer is
// gin's own, it is replaced, for the rest of the request, by a [readFromWriter].
func bodyWriter(c *gin.Context) gin.ResponseWriter {
	if reflect.TypeOf(c.Writer) != ginWriter {
		return c.Writer
	}
	u, ok := c.Writer.(interface{ Unwrap() http.ResponseWriter })
	if !ok {
		return c.Writer
	}
	w := &readFromWriter{ResponseWriter: c.Writer, under: u.Unwrap()}
	c.Writer = w
	return w
}

// readFromWriter is gin's response writer with a ReadFrom that copies
// straight into the http.ResponseWriter beneath it: io.Copy from a file
// then reaches net/http's ReadFrom, which uses sendfile on Linux. Size
// still counts every byte, for gin's logger.
type readFromWriter struct {
	gin.ResponseWriter
	under http.ResponseWriter // the writer beneath gin's
	sent  int                 // bytes sent by ReadFrom, unseen by gin's writer
}

// ReadFrom sends the header, if it is not sent yet, then copies src to the
// writer beneath gin's.
func (w *readFromWriter) ReadFrom(src io.Reader) (int64, error) {
	w.ResponseWriter.WriteHeaderNow()
	n, err := io.Copy(w.under, src)
	w.sent += int(n)
	return n, err
}

// Size returns the number of body bytes written, or -1 if none was.
func (w *readFromWriter) Size() int { return w.ResponseWriter.Size() + w.sent }

// Unwrap returns gin's writer, for http.ResponseController.
func (w *readFromWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
