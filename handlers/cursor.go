package handlers

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
)

// errNoColumns reports a query whose result has no columns, which neither
// format can write.
var errNoColumns = errors.New("handlers: the export query returns no columns")

// cursor reads the rows of one run of an Export's query and converts them.
type cursor struct {
	export *Export
	conn   *sql.Conn  // the connection the query runs on; nil before it
	names  []string   // the column names
	kinds  []kind     // how to write each column
	values []any      // the current row, as the driver returned it
	dest   []any      // pointers to values, for Scan
	cells  []string   // the current row as a CSV record, refilled for each row
	enc    jsonBuffer // for object
}

// kind says how to write the values of a column, where its type matters.
type kind uint8

const (
	plain    kind = iota // by the value's Go type
	binary               // bytes in base64, always
	float32s             // floating point, in single precision
	date                 // times as dates
	numeric              // text of digits, a JSON number
	boolean              // 0 and 1 as false and true
	jsonText             // JSON, embedded as such in NDJSON
)

// query runs the export's query on a live connection (see liveConn) and
// learns its columns.
func (cur *cursor) query(ctx context.Context) (*sql.Rows, error) {
	e := cur.export
	conn, err := liveConn(ctx, e.DB)
	if err != nil {
		return nil, err
	}
	cur.conn = conn
	rows, err := conn.QueryContext(ctx, e.Query, e.Args...)
	if err != nil {
		return nil, err
	}
	types, err := rows.ColumnTypes()
	if err == nil && len(types) == 0 {
		err = errNoColumns
	}
	if err != nil {
		rows.Close()
		return nil, err
	}
	cur.names = make([]string, len(types))
	cur.kinds = make([]kind, len(types))
	cur.values = make([]any, len(types))
	cur.dest = make([]any, len(types))
	cur.cells = make([]string, len(types))
	for i, t := range types {
		cur.names[i] = t.Name()
		cur.kinds[i] = kindOf(t)
		cur.dest[i] = &cur.values[i]
	}
	return rows, nil
}

// close returns the cursor's connection to the pool, once the rows are
// closed.
func (cur *cursor) close() {
	if cur.conn != nil {
		_ = cur.conn.Close()
	}
}

// liveConn returns a connection of db that answers a ping. A connection
// that the database dropped while it was idle in the pool (a restart, an
// idle timeout, pg_terminate_backend) would otherwise fail the query run on
// it, and so the export, although nothing is wrong any more: pgx, for one,
// checks only connections idle for more than a second before handing them
// out. A driver's Ping reports such a connection as driver.ErrBadConn, and
// database/sql then discards it: liveConn tries the next, as many times as
// the pool had connections. It costs one round trip to the database per
// export.
func liveConn(ctx context.Context, db *sql.DB) (*sql.Conn, error) {
	tries := db.Stats().OpenConnections + 1
	for {
		conn, err := db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		if err = conn.PingContext(ctx); err == nil {
			return conn, nil
		}
		_ = conn.Close()
		if tries--; tries == 0 || !errors.Is(err, driver.ErrBadConn) {
			return nil, err
		}
	}
}

// scan reads the current row into cur.values.
func (cur *cursor) scan(rows *sql.Rows) error {
	clear(cur.values)
	return rows.Scan(cur.dest...)
}
