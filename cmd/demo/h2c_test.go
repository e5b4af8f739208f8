package main

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestH2C: with -h2c the demo serves HTTP/2 without TLS to a client that
// starts with its preface, a stream as over HTTP/1.1, and HTTP/1.1 still;
// without it, such a client gets no response.
func TestH2C(t *testing.T) {
	h2c := func() *http.Client {
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		return &http.Client{Transport: &http.Transport{Protocols: p}, Timeout: 30 * time.Second}
	}
	const count = 5000
	var want strings.Builder
	for i := 1; i <= count; i++ {
		want.WriteString(strconv.Itoa(i) + "\n")
	}
	path := "/stream/numbers?count=" + strconv.Itoa(count) + "&interval=0"

	d := startDemo(t, t.TempDir(), nil, "-users", "10", "-h2c")
	client := h2c()
	defer client.CloseIdleConnections()
	res, err := client.Get(d.url + path)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.ProtoMajor != 2 || res.StatusCode != http.StatusOK || string(body) != want.String() {
		t.Fatalf("over h2c: %s %s, %d bytes, %v; want HTTP/2.0 200 and the %d lines", res.Proto, res.Status, len(body), err, count)
	}
	if res, body := d.get(t, path); res.ProtoMajor != 1 || string(body) != want.String() {
		t.Errorf("over HTTP/1.1 beside it: %s %s, %d bytes", res.Proto, res.Status, len(body))
	}

	plain := startDemo(t, t.TempDir(), nil, "-users", "10")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, plain.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	other := h2c()
	defer other.CloseIdleConnections()
	if res, err := other.Do(req); err == nil {
		res.Body.Close()
		t.Errorf("without -h2c an HTTP/2 client got %s %s; want no response", res.Proto, res.Status)
	}
}
