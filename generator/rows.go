package generator

import (
	"context"
	"database/sql"
	"fmt"
)

// Rows returns a producer that runs a query and yields its rows one at a
// time, as scan converts them, so that memory does not grow with the number
// of rows. query is called with the producer's context, so the query is
// cancelled when the stream ends; the rows are always closed.
//
// An error from query, scan or the cursor ends the producer with that error.
func Rows[T any](query func(ctx context.Context) (*sql.Rows, error), scan func(*sql.Rows) (T, error)) Func[T] {
	return func(ctx context.Context, yield func(T) error) (err error) {
		rows, err := query(ctx)
		if err != nil {
			return fmt.Errorf("generator: query: %w", err)
		}
		defer func() {
			if cerr := rows.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("generator: close rows: %w", cerr)
			}
		}()
		n := 0
		for rows.Next() {
			n++
			item, err := scan(rows)
			if err != nil {
				return fmt.Errorf("generator: scan row %d: %w", n, err)
			}
			if err := yield(item); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("generator: after row %d: %w", n, err)
		}
		return nil
	}
}
