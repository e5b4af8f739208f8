package sink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

func TestStatusOf(t *testing.T) {
	errPlain := errors.New("plain")
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"plain error", errPlain, http.StatusInternalServerError},
		{"StatusError 400", WithStatus(http.StatusBadRequest, errPlain), http.StatusBadRequest},
		{"StatusError 409", WithStatus(http.StatusConflict, errPlain), http.StatusConflict},
		{"StatusError 422", &StatusError{Code: http.StatusUnprocessableEntity, Err: errPlain}, http.StatusUnprocessableEntity},
		{"StatusError 503", WithStatus(http.StatusServiceUnavailable, errPlain), http.StatusServiceUnavailable},
		{"StatusError 599", WithStatus(599, errPlain), 599},
		{"StatusError 200 is not an error status", WithStatus(http.StatusOK, errPlain), http.StatusInternalServerError},
		{"StatusError 399", WithStatus(399, errPlain), http.StatusInternalServerError},
		{"StatusError 600", WithStatus(600, errPlain), http.StatusInternalServerError},
		{"StatusError 999", WithStatus(999, errPlain), http.StatusInternalServerError},
		{"StatusError 0", WithStatus(0, errPlain), http.StatusInternalServerError},
		{"StatusError -1", WithStatus(-1, errPlain), http.StatusInternalServerError},
		{"invalid code falls back to the error", WithStatus(http.StatusOK, ErrNotFound), http.StatusNotFound},
		{"StatusError overrides sentinel", WithStatus(http.StatusGone, ErrNotFound), http.StatusGone},
		{"wrapped StatusError", fmt.Errorf("load: %w", WithStatus(http.StatusForbidden, errPlain)), http.StatusForbidden},
		{"joined StatusError", errors.Join(errPlain, WithStatus(http.StatusTooManyRequests, errPlain)), http.StatusTooManyRequests},
		{"ErrNotFound", ErrNotFound, http.StatusNotFound},
		{"wrapped ErrNotFound", fmt.Errorf("user 7: %w", ErrNotFound), http.StatusNotFound},
		{"fs.ErrNotExist", fs.ErrNotExist, http.StatusNotFound},
		{"os.Open of a missing file", openMissing(t), http.StatusNotFound},
		{"sql.ErrNoRows", sql.ErrNoRows, http.StatusNotFound},
		{"wrapped sql.ErrNoRows", fmt.Errorf("query: %w", sql.ErrNoRows), http.StatusNotFound},
		{"ErrBadRequest", ErrBadRequest, http.StatusBadRequest},
		{"wrapped ErrBadRequest", fmt.Errorf("count %q: %w", "x", ErrBadRequest), http.StatusBadRequest},
		{"DeadlineExceeded", context.DeadlineExceeded, http.StatusGatewayTimeout},
		{"wrapped DeadlineExceeded", fmt.Errorf("upstream: %w", context.DeadlineExceeded), http.StatusGatewayTimeout},
		{"timed out context", timedOut(t), http.StatusGatewayTimeout},
		{"Canceled is a server error", context.Canceled, http.StatusInternalServerError},
		{"not found before bad request", errors.Join(ErrBadRequest, ErrNotFound), http.StatusNotFound},
		{"bad request before deadline", errors.Join(context.DeadlineExceeded, ErrBadRequest), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StatusOf(tt.err); got != tt.want {
				t.Errorf("StatusOf(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

// openMissing returns the error of opening a file that does not exist.
func openMissing(t *testing.T) error {
	_, err := os.Open(t.TempDir() + "/missing")
	if err == nil {
		t.Fatal("opened a missing file")
	}
	return err
}

// timedOut returns the error of a context whose deadline has passed.
func timedOut(t *testing.T) error {
	ctx, cancel := context.WithDeadline(t.Context(), time.Unix(0, 0))
	defer cancel()
	<-ctx.Done()
	return ctx.Err()
}

func TestWithStatus(t *testing.T) {
	t.Run("nil error stays nil", func(t *testing.T) {
		if err := WithStatus(http.StatusNotFound, nil); err != nil {
			t.Errorf("WithStatus(404, nil) = %#v, want a nil error", err)
		}
	})
	t.Run("wraps the error", func(t *testing.T) {
		base := fmt.Errorf("user %d: %w", 7, ErrNotFound)
		err := WithStatus(http.StatusGone, base)
		if got, want := err.Error(), "user 7: not found"; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
		if !errors.Is(err, base) || !errors.Is(err, ErrNotFound) {
			t.Errorf("errors.Is(%v, the wrapped errors) = false, want true", err)
		}
		var se *StatusError
		if !errors.As(err, &se) || se.Code != http.StatusGone || se.Err != base {
			t.Errorf("errors.As(%v, *StatusError) = %+v, want Code 410 and Err the wrapped error", err, se)
		}
		if errors.Unwrap(err) != base {
			t.Errorf("Unwrap() = %v, want %v", errors.Unwrap(err), base)
		}
	})
	t.Run("StatusError without Err has a message", func(t *testing.T) {
		// StatusError's fields are exported, so a handler may well return
		// &StatusError{Code: 409}; the Writer logs and sends err.Error().
		err := error(&StatusError{Code: http.StatusConflict})
		defer func() {
			if v := recover(); v != nil {
				t.Errorf("Error() of a StatusError without Err panicked: %v", v)
			}
		}()
		if msg := err.Error(); msg == "" {
			t.Errorf("Error() = %q, want a message", msg)
		}
		if got := StatusOf(err); got != http.StatusConflict {
			t.Errorf("StatusOf = %d, want 409", got)
		}
	})
}

func TestOutcomeString(t *testing.T) {
	tests := []struct {
		o    Outcome
		want string
	}{
		{Completed, "completed"},
		{ClientGone, "client_gone"},
		{Stalled, "stalled"},
		{Failed, "failed"},
		{Rejected, "rejected"},
		{Expired, "expired"},
		{Expired + 1, "unknown"},
		{Outcome(-1), "unknown"},
		{Outcome(1 << 30), "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.o.String(); got != tt.want {
				t.Errorf("Outcome(%d).String() = %q, want %q", int(tt.o), got, tt.want)
			}
		})
	}
}

// requestFrom returns a gin context of a request from the address ip.
func requestFrom(ip string) *gin.Context {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest(http.MethodGet, "/stream", nil)
	c.Request.RemoteAddr = ip + ":40000"
	return c
}

// tryAcquire admits a stream of a client at 192.0.2.1 and returns its
// release, or nil.
func tryAcquire(l *Limit) func() {
	a, err := l.admit(requestFrom("192.0.2.1"))
	if err != nil {
		return nil
	}
	return a.release
}

func TestLimitAdmitsUpToN(t *testing.T) {
	tests := []struct {
		name string
		n    int64
	}{
		{"none", 0},
		{"one", 1},
		{"three", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLimit(tt.n, time.Second)
			var release func()
			for i := range tt.n {
				if release = tryAcquire(l); release == nil {
					t.Fatalf("stream %d of %d turned away", i+1, tt.n)
				}
			}
			if tryAcquire(l) != nil {
				t.Fatalf("stream %d admitted by NewLimit(%d)", tt.n+1, tt.n)
			}
			if tt.n == 0 {
				return
			}
			release()
			if tryAcquire(l) == nil {
				t.Fatal("no stream admitted after one ended")
			}
			if tryAcquire(l) != nil {
				t.Fatal("one release admitted two streams")
			}
		})
	}
}

func TestLimitIsSafeForConcurrentUse(t *testing.T) {
	const n, callers = 3, 32
	for _, perClient := range []int{0, 2} {
		l := NewLimit(n, time.Second)
		if perClient > 0 {
			l.PerClient(perClient, nil)
		}
		var admitted atomic.Int64
		var mu sync.Mutex
		var releases []func()
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				a, err := l.admit(requestFrom(fmt.Sprintf("192.0.2.%d", i%2)))
				if err == nil {
					admitted.Add(1)
					mu.Lock()
					releases = append(releases, a.release)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if got := admitted.Load(); got != n {
			t.Fatalf("per client %d, %d concurrent callers: %d admitted, want %d", perClient, callers, got, n)
		}
		for _, release := range releases {
			wg.Go(release)
		}
		wg.Wait()
		if len(l.clients) != 0 {
			t.Fatalf("per client %d: clients %v left after every stream ended", perClient, l.clients)
		}
		for i := range n {
			if tryAcquire(l) == nil && (perClient == 0 || i < perClient) {
				t.Fatalf("per client %d: after every stream ended, stream %d of %d turned away", perClient, i+1, n)
			}
		}
	}
}

// TestLimitPerClient: one client gets at most its share, then
// ErrClientLimit, while others are still admitted; a stream turned away
// for its client takes no slot of the Limit; ending a stream gives the
// client its share back; a custom key groups requests as it says.
func TestLimitPerClient(t *testing.T) {
	l := NewLimit(10, time.Second).PerClient(3, nil)
	var greedy []admission
	for i := range 3 {
		a, err := l.admit(requestFrom("198.51.100.7"))
		if err != nil {
			t.Fatalf("stream %d of the client's 3: %v", i+1, err)
		}
		greedy = append(greedy, a)
	}
	for range 5 {
		if _, err := l.admit(requestFrom("198.51.100.7")); !errors.Is(err, ErrClientLimit) {
			t.Fatalf("a 4th stream of one client: %v, want ErrClientLimit", err)
		}
	}
	for i := range 7 { // 10 - 3: the rejections took no slot
		if _, err := l.admit(requestFrom(fmt.Sprintf("203.0.113.%d", i))); err != nil {
			t.Fatalf("another client's stream %d: %v", i+1, err)
		}
	}
	if _, err := l.admit(requestFrom("203.0.113.99")); !errors.Is(err, ErrRejected) {
		t.Fatalf("an 11th stream: %v, want ErrRejected", err)
	}
	greedy[0].release()
	if _, err := l.admit(requestFrom("198.51.100.7")); err != nil {
		t.Fatalf("after one of its streams ended, the client: %v", err)
	}

	byUser := NewLimit(10, time.Second).PerClient(1, func(c *gin.Context) string { return c.GetHeader("X-User") })
	c1, c2 := requestFrom("192.0.2.1"), requestFrom("192.0.2.1")
	c1.Request.Header.Set("X-User", "ann")
	c2.Request.Header.Set("X-User", "bob")
	if _, err := byUser.admit(c1); err != nil {
		t.Fatal(err)
	}
	if _, err := byUser.admit(c2); err != nil {
		t.Fatalf("another user from the same address: %v", err)
	}
	if _, err := byUser.admit(c1); !errors.Is(err, ErrClientLimit) {
		t.Fatalf("the same user again: %v, want ErrClientLimit", err)
	}
}

func TestLimitRetryAfter(t *testing.T) {
	tests := []struct {
		retryAfter time.Duration
		want       int64
	}{
		{-time.Second, 1},
		{0, 1},
		{time.Nanosecond, 1},
		{time.Second, 1},
		{time.Second + time.Millisecond, 2},
		{2500 * time.Millisecond, 3},
		{time.Minute, 60},
		{time.Hour, 3600},
	}
	for _, tt := range tests {
		t.Run(tt.retryAfter.String(), func(t *testing.T) {
			if got := NewLimit(1, tt.retryAfter).retryAfterSeconds(); got != tt.want {
				t.Errorf("Retry-After for %v = %d seconds, want %d", tt.retryAfter, got, tt.want)
			}
		})
	}
}
