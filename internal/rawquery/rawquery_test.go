package rawquery

import (
	"net/url"
	"strings"
	"testing"
)

// parsed is what url.ParseQuery and a lookup of key give: Get's
// specification.
func parsed(rawQuery, key string) (string, bool, error) {
	values, err := url.ParseQuery(rawQuery)
	if v := values[key]; len(v) > 0 {
		return v[0], true, err
	}
	return "", false, err
}

var seeds = []struct{ query, key string }{
	{"", "topic"},
	{"topic=news", "topic"},
	{"topic=news&topic=alerts", "topic"},
	{"a=1&topic=&b=2", "topic"},
	{"topic", "topic"},
	{"&&topic=x&&", "topic"},
	{"=x", ""},
	{"topic=a=b", "topic"},
	{"top%69c=news", "topic"},
	{"topic=new%73+today", "topic"},
	{"topic=%zz&topic=ok", "topic"},
	{"topic=ok;x=1", "topic"},
	{"a=1;b=2&topic=news", "topic"},
	{"lastEventId=42&topic=news", "lastEventId"},
	{strings.Repeat("a=1&", 70) + "topic=news", "topic"},
	{strings.Repeat("a=1&", 20000) + "topic=news", "topic"},
}

// TestGet: Get agrees with url.ParseQuery on the seeds.
func TestGet(t *testing.T) {
	for _, s := range seeds {
		v, ok, err := Get(s.query, s.key)
		wv, wok, werr := parsed(s.query, s.key)
		if v != wv || ok != wok || (err == nil) != (werr == nil) {
			t.Errorf("Get(%.40q, %q) = %q, %v, %v; url.ParseQuery gives %q, %v, %v", s.query, s.key, v, ok, err, wv, wok, werr)
		}
	}
}

// TestGetAllocates: a plain query string is read with no allocation.
func TestGetAllocates(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _, _, _ = Get("a=1&topic=news&lastEventId=7", "lastEventId") }); n != 0 {
		t.Errorf("%v allocations to read a plain query string, want 0", n)
	}
}

// FuzzGet: Get agrees with url.ParseQuery on any query string and key.
func FuzzGet(f *testing.F) {
	for _, s := range seeds {
		if len(s.query) < 1000 {
			f.Add(s.query, s.key)
		}
	}
	f.Fuzz(func(t *testing.T, query, key string) {
		v, ok, err := Get(query, key)
		wv, wok, werr := parsed(query, key)
		if v != wv || ok != wok || (err == nil) != (werr == nil) {
			t.Errorf("Get(%q, %q) = %q, %v, %v; url.ParseQuery gives %q, %v, %v", query, key, v, ok, err, wv, wok, werr)
		}
	})
}
