// Package handlers provides ready gin handlers for the jobs streaming
// exists for: files and downloads, CSV and NDJSON exports from a database
// cursor, live numbers, following a log file, proxying an upstream
// response, and live events and logs as Server-Sent Events ([Events],
// [LogEvents]). Each is built on packages generator and sink, and each is also
// a short worked example of them.
//
// Handlers answer bad input with 400 and a JSON body naming what was wrong
// ([ParamError]); a failure before the first byte with an error status; and
// a failure after it with a failed transfer the client can detect (see
// package sink).
package handlers
