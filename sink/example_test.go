package sink_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
)

func ExampleLines() {
	var body []byte
	for _, n := range []int{1, 22, 333} {
		body, _ = sink.Lines[int]{}.Append(body, n)
	}
	body, _ = sink.Lines[string]{}.Append(body, "text as it is")

	// A line feed inside an item would make two lines of one item.
	_, err := sink.Lines[string]{}.Append(body, "two\nlines")

	fmt.Print(string(body))
	fmt.Println(errors.Is(err, sink.ErrLineBreak))
	// Output:
	// 1
	// 22
	// 333
	// text as it is
	// true
}

func ExampleNDJSON() {
	type event struct {
		ID   int    `json:"id"`
		Text string `json:"text"`
	}
	var body []byte
	for _, e := range []event{{1, "<b>bold</b> & plain"}, {2, "two\nlines"}} {
		body, _ = sink.NDJSON[event]{}.Append(body, e)
	}
	fmt.Print(string(body))
	// Output:
	// {"id":1,"text":"<b>bold</b> & plain"}
	// {"id":2,"text":"two\nlines"}
}

func ExampleCSV() {
	enc := sink.CSV{Header: []string{"name", "comment"}}

	// A Writer appends the header before the first record, and also for a
	// stream with no records.
	body, _ := enc.AppendPreamble(nil)
	for _, record := range [][]string{
		{"ann", "likes, commas"},
		{"bob", `=HYPERLINK("http://evil.example","click")`},
		{"cy", "-42"},
	} {
		body, _ = enc.Append(body, record)
	}
	fmt.Print(string(body))
	// Output:
	// name,comment
	// ann,"likes, commas"
	// bob,"'=HYPERLINK(""http://evil.example"",""click"")"
	// cy,-42
}

func ExampleBytes() {
	enc := sink.Bytes{Type: "application/pdf"}
	var body []byte
	for _, chunk := range []string{"%PDF-", "1.7"} {
		body, _ = enc.Append(body, []byte(chunk))
	}
	fmt.Println(enc.ContentType())
	fmt.Println(string(body))
	// Output:
	// application/pdf
	// %PDF-1.7
}

// get prints the status, the Content-Type and the body a client receives.
func get(url string) {
	resp, err := http.Get(url)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	fmt.Print(string(body))
}

func ExampleStream() {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/numbers", func(c *gin.Context) {
		sink.Stream(c, sink.Lines[int]{}, generator.Count(3, 10*time.Millisecond))
	})
	r.GET("/users/:id", func(c *gin.Context) {
		sink.Stream(c, sink.NDJSON[string]{}, func(ctx context.Context, yield func(string) error) error {
			return fmt.Errorf("user %s: %w", c.Param("id"), sink.ErrNotFound)
		})
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	get(srv.URL + "/numbers")
	get(srv.URL + "/users/7")
	// Output:
	// 200 OK text/plain; charset=utf-8
	// 1
	// 2
	// 3
	// 404 Not Found text/plain; charset=utf-8
	// 404 Not Found: user 7: not found
}

func ExampleWriter() {
	gin.SetMode(gin.ReleaseMode)
	reports := make(chan sink.Report, 1)
	export := &sink.Writer[[]string]{
		Encoder:  sink.CSV{Header: []string{"id", "note"}},
		Capacity: 64,
		Config:   sink.Config{StallTimeout: 10 * time.Second, Limit: sink.NewLimit(100, 5*time.Second), OnReport: func(_ *gin.Context, r sink.Report) { reports <- r }},
	}
	records := [][]string{{"1", "ok"}, {"2", "=cmd()"}, {"3", "a, b"}}

	r := gin.New()
	r.GET("/export.csv", func(c *gin.Context) {
		c.Header("Content-Disposition", `attachment; filename="export.csv"`)
		export.Stream(c, generator.Slice(records))
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	get(srv.URL + "/export.csv")
	rep := <-reports
	fmt.Println(rep.Outcome, rep.Status, rep.Items, "items", rep.Bytes, "bytes", rep.Err)
	// Output:
	// 200 OK text/csv; charset=utf-8
	// id,note
	// 1,ok
	// 2,'=cmd()
	// 3,"a, b"
	// completed 200 3 items 32 bytes <nil>
}

func ExampleWriter_StreamInline() {
	gin.SetMode(gin.ReleaseMode)
	// A feed that yields now and then: StreamInline writes each item as it
	// is yielded, from the handler's goroutine, with nothing buffered.
	feed := make(chan string, 2)
	feed <- "price 101"
	feed <- "price 102"
	close(feed)
	w := &sink.Writer[string]{Encoder: sink.Lines[string]{}, Config: sink.Config{StallTimeout: 10 * time.Second}}

	r := gin.New()
	r.GET("/ticker", func(c *gin.Context) {
		w.StreamInline(c, func(ctx context.Context, yield func(string) error) error {
			for {
				select {
				case <-ctx.Done():
					return context.Cause(ctx)
				case quote, ok := <-feed:
					if !ok {
						return nil
					}
					if err := yield(quote); err != nil {
						return err // the client is gone or stalled
					}
				}
			}
		})
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	get(srv.URL + "/ticker")
	// Output:
	// 200 OK text/plain; charset=utf-8
	// price 101
	// price 102
}

func ExampleWriter_Open() {
	gin.SetMode(gin.ReleaseMode)
	// A stream that others write to: the handler registers it with a
	// broadcaster, whose goroutine yields to it, and waits for it to end.
	w := &sink.Writer[string]{Encoder: sink.Lines[string]{}}
	type listener struct {
		stream *sink.OpenStream[string]
		done   chan error
	}
	listeners := make(chan listener)
	go func() { // the broadcaster: two lines to the first listener, then it is done
		l := <-listeners
		for _, line := range []string{"hello", "world"} {
			if err := l.stream.Yield(line); err != nil {
				l.done <- err // the client is gone or stalled
				return
			}
		}
		l.done <- nil
	}()

	r := gin.New()
	r.GET("/lines", func(c *gin.Context) {
		stream, _ := w.Open(c)
		if stream == nil {
			return // refused, answered and reported
		}
		l := listener{stream, make(chan error, 1)}
		listeners <- l
		var err error
		select {
		case err = <-l.done:
		case <-stream.Context().Done():
			err = context.Cause(stream.Context())
		}
		stream.Close(err)
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	get(srv.URL + "/lines")
	// Output:
	// 200 OK text/plain; charset=utf-8
	// hello
	// world
}
