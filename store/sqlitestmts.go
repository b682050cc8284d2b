package store

import (
	"container/list"
	"context"
	"database/sql"
	"database/sql/driver"

	"github.com/libtnb/sqlite"
	"gorm.io/gorm"
	moderncsqlite "modernc.org/sqlite"
)

// sqliteDriverName is modernc.org/sqlite with each connection keeping its compiled statements (stmtCachingConn).
//
// Compiling took 13% of affrelay's CPU in the conversion benchmark, and neither database/sql nor gorm's
// PrepareStmt keeps a statement across transactions: a statement prepared inside one belongs to that
// transaction and is closed with it, so a statement that only ever runs in transactions (most of the
// recording) was compiled again in each (counted: 10 transactions, 10 compilations). Below database/sql a
// connection's statements outlive its transactions.
const sqliteDriverName = "sqlite-stmtcache"

// sqliteStmtCacheSize bounds each connection's compiled statements: the recording runs a few dozen distinct
// ones, which stay; the rest take turns.
const sqliteStmtCacheSize = 128

// sqliteStmtCacheMaxQuery is the longest query text kept compiled. Longer ones are the many-row inserts and
// long IN lists of batch work (reconciliation, payouts): each compiles to a program the size of its rows, run
// once or a few times, and keeping 512 of them per connection took a 1,000,000-row reconciliation from 104 MB
// to 993 MB of peak RSS.
const sqliteStmtCacheMaxQuery = 2048

func init() {
	sql.Register(sqliteDriverName, stmtCachingDriver{&moderncsqlite.Driver{}})
}

// stmtCachingDriver opens modernc.org/sqlite connections wrapped in stmtCachingConn. It has no OpenConnector,
// so database/sql opens through Open.
type stmtCachingDriver struct{ d *moderncsqlite.Driver }

func (d stmtCachingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.d.Open(name)
	if err != nil {
		return nil, err
	}
	return &stmtCachingConn{moderncConn: c.(moderncConn), stmts: map[string]*list.Element{}, lru: list.New()}, nil
}

// moderncConn is what a modernc.org/sqlite connection offers database/sql.
type moderncConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// moderncStmt is a modernc.org/sqlite statement; one of a single SQL statement holds its compiled program and
// is reset, not recompiled, between executions.
type moderncStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// moderncRows is a modernc.org/sqlite result set, with the column types gorm's migrator reads.
type moderncRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// stmtCachingConn runs ExecContext and QueryContext through a statement compiled once per query text and kept,
// least recently used first out, up to sqliteStmtCacheSize. database/sql calls a connection from one goroutine
// at a time, so it needs no lock. A statement whose rows are still open is not run again until they close (its
// program holds their position): a second use meanwhile compiles the query afresh, as without the cache.
type stmtCachingConn struct {
	moderncConn
	stmts map[string]*list.Element // of *cachedStmt
	lru   *list.List               // most recently used at the front
	// compiled counts the statements this connection has compiled for ExecContext and QueryContext.
	compiled int
}

type cachedStmt struct {
	query   string
	stmt    moderncStmt
	busy    bool // its rows are open
	evicted bool // out of the cache while busy: closed when its rows close
}

// statement returns the query's cached statement, compiling and caching it if new, or nil if it is busy or
// too long to keep (the caller then runs the query uncached).
func (c *stmtCachingConn) statement(ctx context.Context, query string) (*cachedStmt, error) {
	if len(query) > sqliteStmtCacheMaxQuery {
		return nil, nil
	}
	if e, ok := c.stmts[query]; ok {
		c.lru.MoveToFront(e)
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		return cs, nil
	}
	s, err := c.moderncConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.compiled++
	cs := &cachedStmt{query: query, stmt: s.(moderncStmt)}
	c.stmts[query] = c.lru.PushFront(cs)
	if c.lru.Len() > sqliteStmtCacheSize {
		old := c.lru.Remove(c.lru.Back()).(*cachedStmt)
		delete(c.stmts, old.query)
		if old.busy {
			old.evicted = true
		} else {
			_ = old.stmt.Close()
		}
	}
	return cs, nil
}

func (c *stmtCachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.moderncConn.ExecContext(ctx, query, args)
	}
	return cs.stmt.ExecContext(ctx, args)
}

func (c *stmtCachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.moderncConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	return &cachedStmtRows{moderncRows: rows.(moderncRows), stmt: cs}, nil
}

// Close closes the cached statements, then the connection (SQLite closes no connection with statements left).
func (c *stmtCachingConn) Close() error {
	for e := c.lru.Front(); e != nil; e = e.Next() {
		_ = e.Value.(*cachedStmt).stmt.Close()
	}
	c.stmts, c.lru = nil, nil
	return c.moderncConn.Close()
}

// cachedStmtRows frees its statement for the next use when closed.
type cachedStmtRows struct {
	moderncRows
	stmt *cachedStmt
}

func (r *cachedStmtRows) Close() error {
	err := r.moderncRows.Close()
	r.stmt.busy = false
	if r.stmt.evicted {
		_ = r.stmt.stmt.Close()
	}
	return err
}

// sqliteDialector is gorm's SQLite dialector on the statement-caching driver.
func sqliteDialector(dsn string) gorm.Dialector {
	return sqlite.New(sqlite.Config{DriverName: sqliteDriverName, DSN: dsn})
}
