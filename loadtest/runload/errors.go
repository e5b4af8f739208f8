package main

import "fmt"

// maxErrors is how many error messages an errorList keeps.
const maxErrors = 5

// errorList keeps the first few errors of many, and counts them all.
type errorList struct {
	n     int
	first []string
}

// add counts err and keeps its message if it is among the first.
func (l *errorList) add(err error) {
	l.n++
	if len(l.first) < maxErrors {
		l.first = append(l.first, err.Error())
	}
}

// String returns the count and the messages kept.
func (l *errorList) String() string {
	return fmt.Sprintf("%d errors, the first %d: %q", l.n, len(l.first), l.first)
}
