package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"sync"
)

// digestPool is the authentication hot path's own read connections: a few
// driver connections, opened through the same registered driver and DSN
// as the reader pool (WAL, busy_timeout, query_only), each holding
// byDigestQuery prepared once. A read through database/sql costs about
// twelve allocations of bookkeeping (pool, Stmt, Rows, argument
// conversion) before the driver's own; this skips them and reuses the
// argument and destination slices.
//
// Each lookup is one autocommit statement: the step starts a read
// transaction and the reset in rows.Close ends it before the connection
// goes back, so a delete committed by any connection or process is seen by
// the next lookup, exactly as through database/sql. Nothing is cached but
// the prepared statement. The cost: up to n more connections on the file,
// each with its own page cache (SQLite's default, 2 MiB at most).
type digestPool struct {
	drv driver.Driver
	dsn string
	n   int // connections at most

	// tokens holds one token per connection that may be in use; a lookup
	// takes one before it takes or opens a connection.
	tokens chan struct{}
	done   chan struct{} // closed by close: waiting lookups give up

	mu     sync.Mutex
	idle   []*digestConn // last in, first out: the warmest page cache first
	closed bool
}

// errPoolClosed is what a lookup on a closed store gets, as sql.ErrConnDone
// would be through database/sql.
var errPoolClosed = errors.New("sqlite: database is closed")

func newDigestPool(drv driver.Driver, dsn string, n int) *digestPool {
	p := &digestPool{drv: drv, dsn: dsn, n: n, tokens: make(chan struct{}, n),
		done: make(chan struct{}), idle: make([]*digestConn, 0, n)}
	for range n {
		p.tokens <- struct{}{}
	}
	return p
}

// digestConn is one connection with the statement prepared and the
// argument and destination slices the driver fills in on every lookup.
type digestConn struct {
	conn driver.Conn
	stmt driver.Stmt
	q    driver.StmtQueryContext
	key  []byte // the digest bound; args[0].Value holds this slice, boxed once
	args [1]driver.NamedValue
	dest [1]driver.Value
}

func (p *digestPool) open(ctx context.Context) (*digestConn, error) {
	conn, err := p.drv.Open(p.dsn)
	if err != nil {
		return nil, err
	}
	prep, ok := conn.(driver.ConnPrepareContext)
	if !ok {
		conn.Close()
		return nil, errors.New("sqlite driver cannot prepare with a context")
	}
	stmt, err := prep.PrepareContext(ctx, byDigestQuery)
	if err != nil {
		conn.Close()
		return nil, err
	}
	q, ok := stmt.(driver.StmtQueryContext)
	if !ok {
		stmt.Close()
		conn.Close()
		return nil, errors.New("sqlite driver cannot query a statement with a context")
	}
	c := &digestConn{conn: conn, stmt: stmt, q: q, key: make([]byte, 32)}
	c.args[0] = driver.NamedValue{Ordinal: 1, Value: c.key}
	return c, nil
}

func (c *digestConn) close() error {
	return errors.Join(c.stmt.Close(), c.conn.Close())
}

// get takes the most recently used idle connection, or opens one; it waits
// while all n are busy.
func (p *digestPool) get(ctx context.Context) (*digestConn, error) {
	select {
	case <-p.tokens:
	case <-p.done:
		return nil, errPoolClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.tokens <- struct{}{}
		return nil, errPoolClosed
	}
	var c *digestConn
	if k := len(p.idle); k > 0 {
		c, p.idle = p.idle[k-1], p.idle[:k-1]
	}
	p.mu.Unlock()
	if c != nil {
		return c, nil
	}
	c, err := p.open(ctx)
	if err != nil {
		p.tokens <- struct{}{}
		return nil, err
	}
	return c, nil
}

// put gives c back, or closes it when the pool is closed or broken is set.
func (p *digestPool) put(c *digestConn, broken bool) {
	p.mu.Lock()
	if p.closed || broken {
		p.mu.Unlock()
		_ = c.close()
	} else {
		p.idle = append(p.idle, c)
		p.mu.Unlock()
	}
	p.tokens <- struct{}{}
}

// close closes the idle connections now and the busy ones when they come
// back.
func (p *digestPool) close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	var err error
	for _, c := range idle {
		err = errors.Join(err, c.close())
	}
	return err
}

// lookup runs byDigestQuery for digest and returns its one text value, or
// sql.ErrNoRows.
func (p *digestPool) lookup(ctx context.Context, digest *[32]byte) (string, error) {
	c, err := p.get(ctx)
	if err != nil {
		return "", err
	}
	row, err := c.lookup(ctx, digest)
	// A connection that failed is not trusted again: its statement may not
	// have been reset, which would keep a read transaction (an old
	// snapshot, where a deleted token still exists) open into the next
	// lookup. The next lookup opens a fresh one.
	p.put(c, err != nil && err != sql.ErrNoRows)
	return row, err
}

func (c *digestConn) lookup(ctx context.Context, digest *[32]byte) (string, error) {
	// The driver copies the bound blob into SQLite's memory at bind time.
	copy(c.key, digest[:])
	rows, err := c.q.QueryContext(ctx, c.args[:])
	if err != nil {
		return "", err
	}
	err = rows.Next(c.dest[:])
	// Close resets the statement, which ends the read transaction.
	if cerr := rows.Close(); err == nil || err == io.EOF {
		if cerr != nil {
			err = cerr
		}
	}
	v := c.dest[0]
	c.dest[0] = nil // the row holds a password hash: keep no reference
	switch {
	case err == io.EOF:
		return "", sql.ErrNoRows
	case err != nil:
		return "", err
	}
	row, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("sqlite: packed row is a %T, not text", v)
	}
	return row, nil
}
