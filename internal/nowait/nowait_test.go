package nowait_test

import (
	"context"
	"testing"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/internal/nowait"
)

// claiming is a producer that claims, as generator.Count does.
func claiming(ctx context.Context, _ func(int) error) error {
	nowait.Claim(ctx)
	return nil
}

// calling returns a producer that calls inner, as a wrapper of another
// producer does: it may wait after inner returns, or yield from goroutines
// of its own.
func calling(inner generator.Func[int]) generator.Func[int] {
	return func(ctx context.Context, yield func(int) error) error {
		return inner(ctx, yield)
	}
}

// generic is a generic producer that claims, as generator.Slice does.
func generic[T any]() generator.Func[T] {
	return func(ctx context.Context, _ func(T) error) error {
		nowait.Claim(ctx)
		return nil
	}
}

// TestClaim: only the producer the sink offered to, called by the sink
// with the offer's context, has its claim accepted, once; a producer that
// another calls, one that was not offered anything, and one that does not
// claim are not.
func TestClaim(t *testing.T) {
	count := generator.Count(3, 0)
	cases := []struct {
		name     string
		offered  generator.Func[int] // the producer the sink calls
		accepted int
	}{
		{"a producer that claims", claiming, 1},
		{"a closure that claims twice", func(ctx context.Context, yield func(int) error) error {
			nowait.Claim(ctx)
			nowait.Claim(ctx)
			return nil
		}, 1},
		{"a generic producer", generic[int](), 1},
		{"generator.Count without an interval", count, 1},
		{"generator.Slice", generator.Slice([]int{1, 2}), 1},
		{"generator.Count with an interval", generator.Count(2, 1), 0},
		{"generator.Seq, which may wait", generator.Seq(func(func(int) bool) {}), 0},
		{"a producer calling one that claims", calling(claiming), 0},
		{"a producer calling generator.Count", calling(count), 0},
		{"a producer calling a claiming closure", calling(func(ctx context.Context, _ func(int) error) error {
			nowait.Claim(ctx)
			return nil
		}), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			accepted := 0
			ctx := nowait.Offer(context.Background(), tc.offered, func() { accepted++ })
			if err := tc.offered(ctx, func(int) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if accepted != tc.accepted {
				t.Errorf("accepted %d claims; want %d", accepted, tc.accepted)
			}
		})
	}
}

// TestClaimOfferedToAnother: a claim is judged against the producer the
// offer names, not whichever producer happens to see the context.
func TestClaimOfferedToAnother(t *testing.T) {
	accepted := 0
	ctx := nowait.Offer(context.Background(), generator.Func[int](claiming), func() { accepted++ })
	if err := generic[int]()(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if accepted != 0 {
		t.Errorf("accepted %d claims of a producer that was not offered; want 0", accepted)
	}
}

// TestClaimWithoutOffer: a claim in a context without an offer, and an
// offer to nothing, do nothing.
func TestClaimWithoutOffer(t *testing.T) {
	nowait.Claim(context.Background())
	ctx := context.Background()
	if got := nowait.Offer(ctx, generator.Func[int](nil), func() { t.Error("accepted") }); got != ctx {
		t.Error("an offer to a nil producer made a new context")
	}
	if got := nowait.Offer(ctx, 42, func() { t.Error("accepted") }); got != ctx {
		t.Error("an offer to a value that is not a function made a new context")
	}
}
