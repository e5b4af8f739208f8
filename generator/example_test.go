package generator_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/ginstream/ginstream/generator"
)

// Start runs a producer; the consumer receives its items in batches with
// Next until io.EOF, and always closes the stream.
func ExampleStart() {
	squares := func(ctx context.Context, yield func(int) error) error {
		for i := 1; i <= 5; i++ {
			if err := yield(i * i); err != nil {
				return err // the consumer is gone
			}
		}
		return nil
	}

	s := generator.Start(context.Background(), generator.Options{Capacity: 2}, squares)
	defer s.Close()

	var batch []int
	for {
		var err error
		batch, err = s.Next(batch) // pass the last batch back for reuse
		for _, n := range batch {
			fmt.Println(n)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("error:", err)
			break
		}
	}
	// Output:
	// 1
	// 4
	// 9
	// 16
	// 25
}

// All ranges over a stream's items. A failed stream ends with one pair
// holding the error; breaking out of the loop stops the producers.
func ExampleGroup_All() {
	errDisk := errors.New("disk full")
	numbers := func(ctx context.Context, yield func(int) error) error {
		for i := 1; i <= 3; i++ {
			if err := yield(i); err != nil {
				return err
			}
		}
		return errDisk
	}

	s := generator.Start(context.Background(), generator.Options{}, numbers)
	for n, err := range s.All() {
		if err != nil {
			fmt.Println("error:", err)
			break
		}
		fmt.Println(n)
	}
	// Output:
	// 1
	// 2
	// 3
	// error: disk full
}

// Count yields numbers at a steady pace: the first at once, then one every
// interval.
func ExampleCount() {
	s := generator.Start(context.Background(), generator.Options{}, generator.Count(3, 10*time.Millisecond))
	for n, err := range s.All() {
		if err != nil {
			fmt.Println("error:", err)
			break
		}
		fmt.Println(n)
	}
	// Output:
	// 1
	// 2
	// 3
}

// Lines yields the lines of a reader without their endings, and fails
// rather than cut a line longer than its maximum.
func ExampleReadLines() {
	text := "first\r\nsecond\n\nfourth, a line too long\nfifth\n"
	s := generator.Start(context.Background(), generator.Options{}, generator.ReadLines(strings.NewReader(text), 10))
	for line, err := range s.All() {
		if err != nil {
			fmt.Println("error:", err)
			fmt.Println("too long:", errors.Is(err, generator.ErrLineTooLong))
			break
		}
		fmt.Printf("%q\n", line)
	}
	// Output:
	// "first"
	// "second"
	// ""
	// error: generator: line too long: line 4 is longer than 10 bytes
	// too long: true
}

// Merge fans several producers into one. Items from different producers
// interleave; each producer's own items keep their order.
func ExampleMerge() {
	fruit := generator.Slice([]string{"apple", "banana"})
	vegetables := generator.Slice([]string{"carrot", "daikon"})

	s := generator.Start(context.Background(), generator.Options{}, generator.Merge(fruit, vegetables))
	for item, err := range s.All() {
		if err != nil {
			fmt.Println("error:", err)
			break
		}
		fmt.Println(item)
	}
	// Unordered output:
	// apple
	// banana
	// carrot
	// daikon
}

// Slice yields the items of a slice in order.
func ExampleSlice() {
	s := generator.Start(context.Background(), generator.Options{}, generator.Slice([]string{"a", "b", "c"}))
	for item, err := range s.All() {
		if err != nil {
			fmt.Println("error:", err)
			break
		}
		fmt.Println(item)
	}
	// Output:
	// a
	// b
	// c
}

// Seq2 adapts an iterator that can fail: the first pair with an error ends
// the producer with that error.
func ExampleSeq2() {
	// parse is an iterator over the numbers in fields, failing at the first
	// field that is not one.
	parse := func(fields []string) iter.Seq2[int, error] {
		return func(yield func(int, error) bool) {
			for _, f := range fields {
				if !yield(strconv.Atoi(f)) {
					return
				}
			}
		}
	}

	s := generator.Start(context.Background(), generator.Options{}, generator.Seq2(parse([]string{"1", "2", "three", "4"})))
	for n, err := range s.All() {
		if err != nil {
			fmt.Println("error:", err)
			break
		}
		fmt.Println(n)
	}
	// Output:
	// 1
	// 2
	// error: strconv.Atoi: parsing "three": invalid syntax
}

// ReadChunks streams any io.Reader, a file or a response body, in chunks:
// Go's fs.createReadStream.
func ExampleReadChunks() {
	r := strings.NewReader("abcdefgh")
	g := generator.Start(context.Background(), generator.Options{}, generator.ReadChunks(r, 3))
	defer g.Close()
	for chunk, err := range g.All() {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Printf("%q\n", chunk)
	}
	// Output:
	// "abc"
	// "def"
	// "gh"
}
