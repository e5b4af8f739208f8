package sink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
		{Rejected + 1, "unknown"},
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
			for i := range tt.n {
				if !l.tryAcquire() {
					t.Fatalf("stream %d of %d turned away", i+1, tt.n)
				}
			}
			if l.tryAcquire() {
				t.Fatalf("stream %d admitted by NewLimit(%d)", tt.n+1, tt.n)
			}
			if tt.n == 0 {
				return
			}
			l.release()
			if !l.tryAcquire() {
				t.Fatal("no stream admitted after one ended")
			}
			if l.tryAcquire() {
				t.Fatal("one release admitted two streams")
			}
		})
	}
}

func TestLimitIsSafeForConcurrentUse(t *testing.T) {
	const n, callers = 3, 32
	l := NewLimit(n, time.Second)
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			if l.tryAcquire() {
				admitted.Add(1)
			}
		})
	}
	wg.Wait()
	if got := admitted.Load(); got != n {
		t.Fatalf("%d concurrent callers: %d admitted, want %d", callers, got, n)
	}
	for range n {
		wg.Go(l.release)
	}
	wg.Wait()
	for i := range n {
		if !l.tryAcquire() {
			t.Fatalf("after every stream ended, stream %d of %d turned away", i+1, n)
		}
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
