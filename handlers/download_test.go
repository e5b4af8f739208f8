package handlers

import (
	"bufio"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

var dispositionTests = []struct {
	name     string
	fileName string
	want     string // the header
	filename string // what a browser saves it as: the filename after decoding
}{
	{"plain ASCII", "report.csv",
		`attachment; filename="report.csv"`, "report.csv"},
	{"spaces", "sales report 2024.csv",
		`attachment; filename="sales report 2024.csv"`, "sales report 2024.csv"},
	{"characters that need quoting", "a;b=c, (d).txt",
		`attachment; filename="a;b=c, (d).txt"`, "a;b=c, (d).txt"},
	{"double quotes", `say "hi".txt`,
		`attachment; filename="say _hi_.txt"; filename*=UTF-8''say%20%22hi%22.txt`, `say "hi".txt`},
	{"percent sign", "100%25.txt",
		`attachment; filename="100_25.txt"; filename*=UTF-8''100%2525.txt`, "100%25.txt"},
	{"non-ASCII", "résumé.pdf",
		`attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`, "résumé.pdf"},
	{"non-ASCII with a space, spaces as %20", "Übersicht März.csv",
		`attachment; filename="_bersicht M_rz.csv"; filename*=UTF-8''%C3%9Cbersicht%20M%C3%A4rz.csv`, "Übersicht März.csv"},
	{"emoji", "📈 sales.csv",
		`attachment; filename="_ sales.csv"; filename*=UTF-8''%F0%9F%93%88%20sales.csv`, "📈 sales.csv"},
	{"CJK", "報告.txt",
		`attachment; filename="__.txt"; filename*=UTF-8''%E5%A0%B1%E5%91%8A.txt`, "報告.txt"},
	{"attr-chars stay as they are", "ä!#$&+-.^_`|~z",
		"attachment; filename=\"_!#$&+-.^_`|~z\"; filename*=UTF-8''%C3%A4!#$&+-.^_`|~z", "ä!#$&+-.^_`|~z"},
	{"other ASCII is encoded", "ä ()<>@,;:'[]?={}",
		`attachment; filename="_ ()<>@,;:'[]?={}"; filename*=UTF-8''%C3%A4%20%28%29%3C%3E%40%2C%3B%3A%27%5B%5D%3F%3D%7B%7D`,
		"ä ()<>@,;:'[]?={}"},
	{"CRLF header injection", "a.txt\r\nSet-Cookie: session=evil",
		`attachment; filename="a.txt__Set-Cookie: session=evil"`, "a.txt__Set-Cookie: session=evil"},
	{"lone LF and NUL", "a\nb\x00c.txt",
		`attachment; filename="a_b_c.txt"`, "a_b_c.txt"},
	{"tab, DEL and a C1 control", "a\tb\x7fc\u0085d.txt",
		`attachment; filename="a_b_c_d.txt"`, "a_b_c_d.txt"},
	{"quote breaking out of the parameter", `x"; filename="evil.exe`,
		`attachment; filename="x_; filename=_evil.exe"; filename*=UTF-8''x%22%3B%20filename%3D%22evil.exe`,
		`x"; filename="evil.exe`},
	{"right-to-left override", "invoice\u202etxt.exe",
		`attachment; filename="invoice_txt.exe"`, "invoice_txt.exe"},
	{"invalid UTF-8", "a\xffb.txt",
		`attachment; filename="a_b.txt"`, "a_b.txt"},
	{"relative path", "../../etc/passwd",
		`attachment; filename="passwd"`, "passwd"},
	{"directories", "exports/2024/users.csv",
		`attachment; filename="users.csv"`, "users.csv"},
	{"Windows path", `C:\Users\me\report.csv`,
		`attachment; filename="report.csv"`, "report.csv"},
	{"empty", "",
		`attachment; filename="download"`, "download"},
	{"only a directory", "exports/",
		`attachment; filename="download"`, "download"},
	{"dot-dot", "a/..",
		`attachment; filename="download"`, "download"},
	{"spaces only", "   ",
		`attachment; filename="download"`, "download"},
	{"hidden file", ".env",
		`attachment; filename=".env"`, ".env"},
}

func TestContentDisposition(t *testing.T) {
	for _, tt := range dispositionTests {
		t.Run(tt.name, func(t *testing.T) {
			got := ContentDisposition("attachment", tt.fileName)
			if got != tt.want {
				t.Errorf("ContentDisposition(%q)\n got %s\nwant %s", tt.fileName, got, tt.want)
			}
			checkDisposition(t, tt.fileName, "attachment", got, tt.filename)
		})
	}
}

func TestContentDispositionType(t *testing.T) {
	tests := []struct{ name, disposition, want string }{
		{"attachment", "attachment", `attachment; filename="a.txt"`},
		{"inline", "inline", `inline; filename="a.txt"`},
		{"another token is kept", "x-custom", `x-custom; filename="a.txt"`},
		{"empty", "", `attachment; filename="a.txt"`},
		{"not a token", "inline; x=y", `attachment; filename="a.txt"`},
		{"injection", "inline\r\nSet-Cookie: a=b", `attachment; filename="a.txt"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ContentDisposition(tt.disposition, "a.txt"); got != tt.want {
				t.Errorf("ContentDisposition(%q, a.txt) = %s, want %s", tt.disposition, got, tt.want)
			}
		})
	}
}

// checkDisposition checks a Content-Disposition header made for name: it
// is printable ASCII, mime.ParseMediaType reads it back with the
// disposition and the filename want, and a browser that only reads the
// ASCII filename parameter gets a name without quotes, backslashes or
// percent signs.
func checkDisposition(t *testing.T, name, disposition, header, want string) {
	t.Helper()
	for i := 0; i < len(header); i++ {
		if c := header[i]; c < ' ' || c > '~' {
			t.Fatalf("header %q for %q has byte %#x at %d", header, name, c, i)
		}
	}
	typ, params, err := mime.ParseMediaType(header)
	if err != nil {
		t.Fatalf("mime.ParseMediaType(%q) for %q: %v", header, name, err)
	}
	if typ != strings.ToLower(disposition) || params["filename"] != want || len(params) != 1 {
		t.Fatalf("header %q for %q reads back as %q %q, want %q filename %q",
			header, name, typ, params, disposition, want)
	}
	// The ASCII part ends at the last `"; filename*=`: the quoted fallback
	// may hold that text too, the percent-encoded filename* cannot.
	ascii := header
	if i := strings.LastIndex(header, `"; filename*=`); i >= 0 {
		ascii = header[:i+1]
	}
	_, params, err = mime.ParseMediaType(ascii)
	if err != nil {
		t.Fatalf("mime.ParseMediaType(%q), the ASCII part for %q: %v", ascii, name, err)
	}
	if fallback := params["filename"]; fallback == "" || strings.ContainsAny(fallback, `"\%/`) {
		t.Fatalf("ASCII fallback %q for %q", fallback, name)
	}
}

// TestAttachment sends the names through a real server and reads the
// response the way a client does: one Content-Disposition header, nothing
// injected, and the name recovered exactly.
func TestAttachment(t *testing.T) {
	r := gin.New()
	r.GET("/download", func(c *gin.Context) {
		Attachment(c, c.Query("name"))
		c.String(http.StatusOK, "body\n")
	})
	ts := httptest.NewServer(r)
	defer ts.Close()
	for _, tt := range dispositionTests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", ts.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "GET /download?name=%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
				url.QueryEscape(tt.fileName))
			head, err := readDispositionHead(bufio.NewReader(conn))
			if err != nil {
				t.Fatal(err)
			}
			var dispositions []string
			for _, line := range head {
				k, v, _ := strings.Cut(line, ": ")
				switch strings.ToLower(k) {
				case "content-disposition":
					dispositions = append(dispositions, v)
				case "set-cookie":
					t.Errorf("injected header %q", line)
				}
			}
			if len(dispositions) != 1 {
				t.Fatalf("Content-Disposition headers: %q, want one", dispositions)
			}
			checkDisposition(t, tt.fileName, "attachment", dispositions[0], tt.filename)
		})
	}
}

// readDispositionHead returns the lines of a response's status line and header.
func readDispositionHead(br *bufio.Reader) ([]string, error) {
	var lines []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return lines, fmt.Errorf("reading the header: %w (after %q)", err, lines)
		}
		if !strings.HasSuffix(line, "\r\n") || strings.ContainsRune(strings.TrimSuffix(line, "\r\n"), '\r') {
			return lines, fmt.Errorf("malformed header line %q", line)
		}
		line = strings.TrimSuffix(line, "\r\n")
		if line == "" {
			return lines, nil
		}
		lines = append(lines, line)
	}
}

// FuzzContentDisposition: for any name, the header is printable ASCII, it
// reads back through mime.ParseMediaType as the name made safe, and that
// name is safe: one path element, no control or formatting characters,
// valid UTF-8, and unchanged when it was safe already.
func FuzzContentDisposition(f *testing.F) {
	for _, tt := range dispositionTests {
		f.Add(tt.fileName, "attachment")
	}
	f.Add("a.txt", "inline")
	f.Add("%41%42.txt", "INLINE")
	f.Add("a\u2028b\u00adc\ufeff.txt", "attachment")
	f.Add("\xc0\xae\xc0\xae", "attachment")
	f.Fuzz(func(t *testing.T, name, disposition string) {
		header := ContentDisposition(disposition, name)
		safe := downloadName(name)
		if !isToken(disposition) {
			disposition = "attachment"
		}
		checkDisposition(t, name, disposition, header, safe)

		if !utf8.ValidString(safe) || safe == "." || safe == ".." || strings.TrimSpace(safe) == "" ||
			strings.ContainsAny(safe, `/\`) {
			t.Fatalf("downloadName(%q) = %q", name, safe)
		}
		for _, r := range safe {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("downloadName(%q) = %q, with %U", name, safe, r)
			}
		}
		if again := downloadName(safe); again != safe {
			t.Fatalf("downloadName(%q) = %q, but downloadName of that = %q", name, safe, again)
		}
		if base := name[strings.LastIndexAny(name, `/\`)+1:]; safe != base && safe != DefaultDownloadName &&
			utf8.ValidString(base) && !strings.ContainsFunc(base, func(r rune) bool {
			return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError
		}) {
			t.Fatalf("downloadName(%q) = %q, want the safe name %q unchanged", name, safe, base)
		}
	})
}

func ExampleContentDisposition() {
	fmt.Println(ContentDisposition("attachment", "exports/users 2024.csv"))
	fmt.Println(ContentDisposition("inline", "Übersicht.pdf"))
	fmt.Println(ContentDisposition("attachment", "evil\r\nSet-Cookie: a=b"))
	// Output:
	// attachment; filename="users 2024.csv"
	// inline; filename="_bersicht.pdf"; filename*=UTF-8''%C3%9Cbersicht.pdf
	// attachment; filename="evil__Set-Cookie: a=b"
}

func ExampleAttachment() {
	r := gin.New()
	r.GET("/export/users.csv", func(c *gin.Context) {
		Attachment(c, "users.csv")
		c.String(http.StatusOK, "id,name\n1,Zoë\n")
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/export/users.csv", nil))
	fmt.Println(w.Header().Get("Content-Disposition"))
	// Output: attachment; filename="users.csv"
}
