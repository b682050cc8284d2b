// Package store holds affrelay's persistent state: GORM models, migrations and queries for SQLite and PostgreSQL.
package store

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
)

// Store wraps the database handle.
type Store struct {
	DB *gorm.DB
	// reads is a SQLite store's pool of query-only connections for the lookups a postback's answer waits on
	// (see ReadOnly); nil elsewhere.
	reads *gorm.DB
}

// sqliteReadConns is how many query-only connections a SQLite store keeps beside its one writer.
const sqliteReadConns = 4

// Open connects to the database. For SQLite the DSN is a file path; its folder is created.
func Open(driver, dsn string) (*Store, error) {
	cfg := &gorm.Config{Logger: logger.Default.LogMode(logger.Silent), TranslateError: true}
	var dialector gorm.Dialector
	switch driver {
	case "sqlite":
		if dir := filepath.Dir(dsn); dir != "." && !strings.HasPrefix(dsn, "file:") {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
		}
		dialector = sqliteDialector(dsn + sqliteWriterOptions)
	case "postgres":
		dialector = postgres.Open(dsn)
	default:
		return nil, fmt.Errorf("unknown database driver %q", driver)
	}
	db, err := gorm.Open(dialector, cfg)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", driver, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if driver != "sqlite" {
		sqlDB.SetMaxOpenConns(defaultMaxOpenConns)
		sqlDB.SetMaxIdleConns(defaultMaxOpenConns)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		return &Store{DB: db}, nil
	}
	// SQLite has one writer; one connection serialises writes instead of failing them with SQLITE_BUSY.
	sqlDB.SetMaxOpenConns(1)
	reads, err := openSQLiteReads(dsn, cfg)
	if err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return &Store{DB: db, reads: reads}, nil
}

const (
	// WAL lets readers run beside the single writer; busy_timeout waits for the lock instead of failing.
	// The time options keep what the earlier driver (glebarez/go-sqlite) wrote and read, which the dialector's
	// own defaults would change: times are written as "2006-01-02 15:04:05.999999999-07:00", and only columns
	// declared DATETIME come back as times (with _texttotime=1 an untyped "2026-10-03" such as a
	// strftime day key came back as a time and was scanned into its string as "2026-10-03T00:00:00Z").
	sqliteOptions = "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)" +
		"&_time_format=sqlite&_texttotime=0&_inttotime=0"
	// _txlock=immediate begins every transaction with the write lock: a transaction that reads and then
	// writes while another process (a second worker or API process on the same file) committed in between
	// would otherwise fail at once with SQLITE_BUSY_SNAPSHOT, which no busy_timeout waits out.
	sqliteWriterOptions = sqliteOptions + "&_txlock=immediate"
)

// openSQLiteReads opens the query-only pool. Under WAL its connections read the last commit without waiting
// for the writer, so a postback's key, integration and duplicate lookups do not queue behind the recording
// transactions and the audit inserts on the one writing connection (at 50 postbacks/s they waited up to a
// second there).
func openSQLiteReads(dsn string, cfg *gorm.Config) (*gorm.DB, error) {
	reads, err := gorm.Open(sqliteDialector(dsn+sqliteOptions+"&_pragma=query_only(1)"), cfg)
	if err != nil {
		return nil, fmt.Errorf("open sqlite database for reading: %w", err)
	}
	sqlDB, err := reads.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(sqliteReadConns)
	sqlDB.SetMaxIdleConns(sqliteReadConns)
	return reads, nil
}

// ReadOnly returns the store to use for lookups outside a transaction that may read the last commit: on
// SQLite its query-only pool (a write through it fails), elsewhere the store itself.
func (s *Store) ReadOnly() *Store {
	if s.reads == nil {
		return s
	}
	return &Store{DB: s.reads}
}

// defaultMaxOpenConns is a PostgreSQL store's connection pool until LimitConnections changes it.
const defaultMaxOpenConns = 20

// LimitConnections bounds a PostgreSQL store's pool to n connections, n of them kept idle (database.max_open_conns).
// Every process holds its own pool, so their sum must stay under the server's max_connections: two API and
// two worker processes at the default 20 took 80 of a default server's 100, and the others' connections were
// refused ("sorry, too many clients already"). SQLite keeps its single connection.
func (s *Store) LimitConnections(n int) error {
	if n < 1 {
		return fmt.Errorf("database pool of %d connections: at least 1", n)
	}
	if s.DB.Name() != "postgres" {
		return nil
	}
	sqlDB, err := s.DB.DB()
	if err != nil {
		return err
	}
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	return nil
}

// migrations holds the versioned schema changes, one folder per dialect (see docs/migrations.md).
//
//go:embed migrations
var migrations embed.FS

// Migrate applies the schema migrations this database has not had yet. A database that AutoMigrate created
// before versioned migrations has no goose_db_version table; the baseline migration creates only what is
// missing (IF NOT EXISTS), so such a database is adopted in place.
func (s *Store) Migrate(ctx context.Context) error {
	p, err := s.migrationProvider(ctx)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate the %s database: %w", s.DB.Name(), err)
	}
	return nil
}

// SchemaVersion returns the database's applied migration version and the newest this binary knows.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	p, err := s.migrationProvider(ctx)
	if err != nil {
		return 0, 0, err
	}
	return p.GetVersions(ctx)
}

func (s *Store) migrationProvider(ctx context.Context) (*goose.Provider, error) {
	sqlDB, err := s.DB.DB()
	if err != nil {
		return nil, err
	}
	dialect := s.DB.Name()
	files, err := fs.Sub(migrations, "migrations/"+dialect)
	if err != nil {
		return nil, err
	}
	switch dialect {
	case "sqlite":
		return goose.NewProvider(goose.DialectSQLite3, sqlDB, files)
	case "postgres":
		// Replicas starting together take turns. The lock is per schema, so schemas in one database (the
		// end-to-end tests use one each) do not wait for each other.
		var schema string
		if err := s.DB.WithContext(ctx).Raw("SELECT current_schema()").Scan(&schema).Error; err != nil {
			return nil, err
		}
		h := fnv.New64a()
		h.Write([]byte("affrelay-migrate:" + schema))
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64())), lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, err
		}
		return goose.NewProvider(goose.DialectPostgres, sqlDB, files, goose.WithSessionLocker(locker))
	}
	return nil, fmt.Errorf("no migrations for database %q", dialect)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close closes the connection pool.
func (s *Store) Close() error {
	if s.reads != nil {
		if sqlDB, err := s.reads.DB(); err == nil {
			_ = sqlDB.Close()
		}
	}
	sqlDB, err := s.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// NewID returns a random identifier with a type prefix, e.g. "aff_3f9c...".
func NewID(prefix string) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return prefix + "_" + hex.EncodeToString(b)
}

// InsertMissing stores each row unless it exists (by its key), in one transaction: a seed that runs again
// changes nothing.
func (s *Store) InsertMissing(ctx context.Context, rows ...any) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, r := range rows {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(r).Error; err != nil && !errors.Is(err, gorm.ErrDuplicatedKey) {
				return err
			}
		}
		return nil
	})
}

// DropDatabase drops the PostgreSQL database name if it exists (closing its connections); name as for
// RecreateDatabase.
func (s *Store) DropDatabase(name string) error {
	return s.DB.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").Error
}

// BackendPIDs are the process ids of the PostgreSQL backends connected to the named databases (a benchmark reads
// their CPU to count what a Temporal server's persistence costs on the database server).
func (s *Store) BackendPIDs(databases ...string) ([]int, error) {
	var pids []int
	err := s.DB.Raw("SELECT pid FROM pg_stat_activity WHERE datname IN ?", databases).Scan(&pids).Error
	return pids, err
}

// RecreateDatabase drops the PostgreSQL database name (closing its connections) and creates it empty, on a
// maintenance connection. name is not quoted: the caller allows only a plain identifier.
func (s *Store) RecreateDatabase(name string) error {
	for _, stmt := range []string{"DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", "CREATE DATABASE " + name} {
		if err := s.DB.Exec(stmt).Error; err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}
