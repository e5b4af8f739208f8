package main

import (
	"io"
	"net/http"
	"testing"
)

// TestDemoMethods: HEAD is answered on the page and the reports (headers,
// no body), a wrong method gets 405 with Allow, and OPTIONS gets 204 with
// the methods allowed; an unknown path stays 404 whatever the method.
func TestDemoMethods(t *testing.T) {
	d := startDemo(t, t.TempDir(), nil, "-users", "10")
	for _, tt := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodHead, "/", http.StatusOK, ""},
		{http.MethodHead, "/static/app.js", http.StatusOK, ""},
		{http.MethodPost, "/", http.StatusMethodNotAllowed, "GET, HEAD"},
		{http.MethodHead, "/stream/numbers", http.StatusMethodNotAllowed, "GET"},
		{http.MethodDelete, "/export/users.csv", http.StatusMethodNotAllowed, "GET"},
		{http.MethodOptions, "/stream/numbers", http.StatusNoContent, "GET, OPTIONS"},
		{http.MethodOptions, "/", http.StatusNoContent, "GET, HEAD, OPTIONS"},
		{http.MethodPost, "/nowhere", http.StatusNotFound, ""},
	} {
		req, err := http.NewRequestWithContext(t.Context(), tt.method, d.url+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := d.client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.path, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.status || res.Header.Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d, Allow %q; want %d, %q", tt.method, tt.path, res.StatusCode, res.Header.Get("Allow"), tt.status, tt.allow)
		}
		if tt.method == http.MethodHead && len(body) > 0 {
			t.Errorf("HEAD %s: a body of %d bytes", tt.path, len(body))
		}
	}
}
