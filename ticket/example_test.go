package ticket_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/ginstream/ginstream/ticket"
)

// A page that may stream a private topic asks for a ticket, then opens
// EventSource("/events?topic=private&ticket=…"); the stream's route checks
// the ticket for the topic it serves.
func Example() {
	key := make([]byte, ticket.MinKeySize)
	rand.Read(key) // the same key on every server that checks the tickets
	tickets, err := ticket.NewSigner(key)
	if err != nil {
		panic(err)
	}

	// The ticket route, once the app has checked the page's session:
	token, _ := tickets.Issue("alice events:private", time.Minute)

	// The stream's route:
	if until, err := tickets.Check(token, "alice events:private"); err == nil {
		fmt.Println("streaming for", time.Until(until).Round(time.Second))
	}
	if _, err := tickets.Check(token, "bob events:private"); errors.Is(err, ticket.ErrSignature) {
		fmt.Println("refused:", err)
	}
	if _, err := tickets.Check("", "alice events:private"); err != nil {
		fmt.Println("refused:", err)
	}
	// Output:
	// streaming for 1m0s
	// refused: ticket: bad signature
	// refused: ticket: malformed
}

// A ticket whose time is up is refused with ErrExpired, which a stream's
// route answers with 401: the page then asks for a new one.
func ExampleSigner_Check() {
	tickets, err := ticket.NewSigner([]byte("an example key, 32 bytes or more"))
	if err != nil {
		panic(err)
	}
	token, _ := tickets.Issue("report.csv", -time.Second) // expired at once, for the example
	_, err = tickets.Check(token, "report.csv")
	fmt.Println(err, errors.Is(err, ticket.ErrExpired))
	// Output:
	// ticket: expired true
}

// A key must be long enough to be the strong part: NewSigner refuses a
// shorter one.
func ExampleNewSigner() {
	_, err := ticket.NewSigner([]byte("password"))
	fmt.Println(err)
	// Output:
	// ticket: key shorter than 32 bytes
}
