package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// writerConn runs f on the SQLite store's one writing connection.
func writerConn(t *testing.T, s *Store, f func(c *stmtCachingConn)) {
	t.Helper()
	sqlDB, err := s.DB.DB()
	require.NoError(t, err)
	conn, err := sqlDB.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.Raw(func(dc any) error {
		f(dc.(*stmtCachingConn))
		return nil
	}))
}

func openSQLiteForStmts(t *testing.T) *Store {
	s, err := Open("sqlite", filepath.Join(t.TempDir(), "stmts.db"))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.NoError(t, s.DB.Exec("CREATE TABLE counters (n INTEGER)").Error)
	return s
}

// A statement that runs only inside transactions is compiled once, not once per transaction.
func TestSQLiteStatementsOutliveTransactions(t *testing.T) {
	s := openSQLiteForStmts(t)
	var before int
	writerConn(t, s, func(c *stmtCachingConn) { before = c.compiled })
	for i := range 10 {
		require.NoError(t, s.DB.Transaction(func(tx *gorm.DB) error {
			var n int64
			if err := tx.Raw("SELECT COUNT(*) FROM counters WHERE n >= ?", 0).Scan(&n).Error; err != nil {
				return err
			}
			require.EqualValues(t, i, n)
			return tx.Exec("INSERT INTO counters (n) VALUES (?)", i).Error
		}))
	}
	writerConn(t, s, func(c *stmtCachingConn) { require.Equal(t, 2, c.compiled-before) })
}

// A query run again while its own rows are still being read gets a statement of its own and leaves the first
// result set where it was.
func TestSQLiteStatementReusedWhileItsRowsAreOpen(t *testing.T) {
	s := openSQLiteForStmts(t)
	for i := range 3 {
		require.NoError(t, s.DB.Exec("INSERT INTO counters (n) VALUES (?)", i).Error)
	}
	const q = "SELECT n FROM counters WHERE n >= ? ORDER BY n"
	var outer, inner []int64
	require.NoError(t, s.DB.Transaction(func(tx *gorm.DB) error {
		rows, err := tx.Raw(q, 0).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n int64
			if err := rows.Scan(&n); err != nil {
				return err
			}
			outer = append(outer, n)
			var all []int64
			if err := tx.Raw(q, n).Scan(&all).Error; err != nil {
				return err
			}
			inner = append(inner, int64(len(all)))
		}
		return rows.Err()
	}))
	require.Equal(t, []int64{0, 1, 2}, outer)
	require.Equal(t, []int64{3, 2, 1}, inner)
}

// Statements of ever new text (IN lists of every length) do not grow a connection's cache past its bound, and
// a statement pushed out while its rows are open still reads to the end.
func TestSQLiteStatementCacheIsBounded(t *testing.T) {
	s := openSQLiteForStmts(t)
	require.NoError(t, s.DB.Exec("INSERT INTO counters (n) VALUES (1), (2)").Error)
	require.NoError(t, s.DB.Transaction(func(tx *gorm.DB) error {
		rows, err := tx.Raw("SELECT n FROM counters ORDER BY n").Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		require.True(t, rows.Next())
		for i := range sqliteStmtCacheSize + 10 {
			if err := tx.Exec(fmt.Sprintf("UPDATE counters SET n = n WHERE n = %d", i)).Error; err != nil {
				return err
			}
		}
		var n int64
		require.True(t, rows.Next())
		require.NoError(t, rows.Scan(&n))
		require.EqualValues(t, 2, n)
		return nil
	}))
	writerConn(t, s, func(c *stmtCachingConn) {
		require.Equal(t, sqliteStmtCacheSize, c.lru.Len())
		require.Len(t, c.stmts, sqliteStmtCacheSize)
	})
}

// A query longer than sqliteStmtCacheMaxQuery (a many-row insert, a long IN list) runs without being kept.
func TestSQLiteLongQueriesAreNotKept(t *testing.T) {
	s := openSQLiteForStmts(t)
	ids := make([]int, 1500)
	for i := range ids {
		ids[i] = i
	}
	var kept, compiled int
	writerConn(t, s, func(c *stmtCachingConn) { kept, compiled = c.lru.Len(), c.compiled })
	for range 3 {
		var n int64
		require.NoError(t, s.DB.Raw("SELECT COUNT(*) FROM counters WHERE n IN ?", ids).Scan(&n).Error)
	}
	writerConn(t, s, func(c *stmtCachingConn) {
		require.Equal(t, kept, c.lru.Len())
		require.Equal(t, compiled, c.compiled)
	})
}
