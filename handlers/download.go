package handlers

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// DefaultDownloadName is the file name [ContentDisposition] gives a download
// whose name is empty, or nothing but path separators and dots.
const DefaultDownloadName = "download"

// Attachment makes browsers save c's response as a file named name instead
// of displaying it: it sets Content-Disposition to
// [ContentDisposition]("attachment", name). It is the equivalent of Koa's
// ctx.attachment(name), except that it leaves Content-Type to whatever
// writes the body.
func Attachment(c *gin.Context, name string) {
	c.Header("Content-Disposition", ContentDisposition("attachment", name))
}

// ContentDisposition returns a Content-Disposition header value (RFC 6266)
// of the given disposition type ("attachment" or "inline"; "attachment"
// when disposition is not an HTTP token) for a file named name. The value
// is printable ASCII whatever name holds, so it can never break or inject a
// header.
//
// The name is first made safe to offer to a user: anything up to its last
// slash or backslash is dropped, and every control or invisible formatting
// character (CR, LF, NUL, bidirectional overrides, ...) and every byte of
// invalid UTF-8 becomes "_". An empty result, ".", ".." or a name of white space
// becomes [DefaultDownloadName].
//
// The value carries the name as an ASCII quoted filename parameter, in
// which non-ASCII characters, double quotes, backslashes and percent signs
// are replaced by "_". Unless that is the name itself, a filename*
// parameter (RFC 5987: UTF-8, percent-encoded, spaces as %20) follows with
// the exact name, for the browsers that read it — all current ones:
//
//	ContentDisposition("attachment", "report 2024.csv")
//		// attachment; filename="report 2024.csv"
//	ContentDisposition("attachment", "résumé.pdf")
//		// attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf
func ContentDisposition(disposition, name string) string {
	if !isToken(disposition) {
		disposition = "attachment"
	}
	name = downloadName(name)
	fallback := strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' || r == '"' || r == '\\' || r == '%' {
			return '_'
		}
		return r
	}, name)

	var b strings.Builder
	b.WriteString(disposition)
	b.WriteString(`; filename="`)
	b.WriteString(fallback)
	b.WriteByte('"')
	if fallback != name {
		b.WriteString("; filename*=UTF-8''")
		for i := 0; i < len(name); i++ {
			if c := name[i]; isAttrChar(c) {
				b.WriteByte(c)
			} else {
				const hex = "0123456789ABCDEF"
				b.Write([]byte{'%', hex[c>>4], hex[c&0xf]})
			}
		}
	}
	return b.String()
}

// downloadName returns name made safe to offer as a file name; see
// [ContentDisposition].
func downloadName(name string) string {
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) ||
			r == '\u2028' || r == '\u2029' || r == utf8.RuneError {
			return '_'
		}
		return r
	}, name)
	if name == "." || name == ".." || strings.TrimSpace(name) == "" {
		return DefaultDownloadName
	}
	return name
}

// isToken reports whether s is an HTTP token (RFC 9110, section 5.6.2).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// isAttrChar reports whether c may stand unencoded in an RFC 5987
// ext-value.
func isAttrChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}
