// Package natsname escapes names of ginstream's (topics, run ids) into
// tokens that NATS accepts everywhere: in subjects, stream names and
// key-value keys. Package sse/natshub names its streams and subjects with
// it, package runs/natsruns its keys.
package natsname

import "strings"

// Escape returns s as one NATS token: ASCII letters and digits are kept,
// every other byte is written as '_' and two upper-case hex digits, and
// the empty string is "_". So distinct names get distinct tokens, and a
// token holds only letters, digits and '_': no '.', '*', '>', space or
// control character. A byte other than a letter or digit takes three.
func Escape(s string) string {
	const hex = "0123456789ABCDEF"
	if s == "" {
		return "_"
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
