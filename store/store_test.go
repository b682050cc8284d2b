package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// A seed that runs again finds its rows and changes nothing, on both databases.
func TestInsertMissingKeepsExistingRows(t *testing.T) {
	for driver, open := range testDatabases(t) {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			require.NoError(t, s.Migrate(ctx))
			require.NoError(t, s.InsertMissing(ctx, &Affiliate{ID: "aff_seed", Name: "first"}, &Integration{ID: "int_seed", Name: "seed"}))
			require.NoError(t, s.InsertMissing(ctx, &Affiliate{ID: "aff_seed", Name: "second"}, &Integration{ID: "int_other", Name: "seed"}))
			aff, err := s.Affiliates(ctx).Get("aff_seed", "affiliate")
			require.NoError(t, err)
			require.Equal(t, "first", aff.Name)
			_, err = s.Integrations(ctx).Get("int_other")
			require.Error(t, err, "an integration whose unique name exists is not stored")
		})
	}
}

// Two processes on one SQLite file (two workers, or a worker and an API replica): a transaction that reads
// and then writes, while the other process commits a write in between, must wait for the lock and succeed.
// Begun deferred, it failed at once with SQLITE_BUSY_SNAPSHOT, which busy_timeout does not wait out (the
// chaos run's attempts failed to store that way and were sent again).
func TestSQLiteReadThenWriteTransactionWaitsForAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	a, err := Open("sqlite", path)
	require.NoError(t, err)
	defer a.Close()
	b, err := Open("sqlite", path)
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, a.DB.Exec("CREATE TABLE counters (n INTEGER)").Error)

	read := make(chan struct{})
	bDone := make(chan error, 1)
	go func() {
		<-read
		bDone <- b.DB.Exec("INSERT INTO counters (n) VALUES (1)").Error
	}()
	err = a.DB.Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Raw("SELECT COUNT(*) FROM counters").Scan(&n).Error; err != nil {
			return err
		}
		close(read)
		time.Sleep(200 * time.Millisecond) // the other process writes now, if it can
		return tx.Exec("INSERT INTO counters (n) VALUES (?)", n+1).Error
	})
	require.NoError(t, err)
	require.NoError(t, <-bDone)
	var rows int64
	require.NoError(t, a.DB.Raw("SELECT COUNT(*) FROM counters").Scan(&rows).Error)
	require.EqualValues(t, 2, rows)
}

// database.max_open_conns bounds a PostgreSQL store's pool (four processes at a fixed 20 took 80 of a default
// server's 100 connections in the chaos run); SQLite keeps its one connection.
func TestLimitConnections(t *testing.T) {
	for driver, open := range testDatabases(t) {
		t.Run(driver, func(t *testing.T) {
			s := open(t)
			require.NoError(t, s.LimitConnections(6))
			sqlDB, err := s.DB.DB()
			require.NoError(t, err)
			want := map[string]int{"sqlite": 1, "postgres": 6}[driver]
			require.Equal(t, want, sqlDB.Stats().MaxOpenConnections)
		})
	}
}

// A SQLite store's lookups through ReadOnly (a postback's key, integration and signing secrets) read the last
// commit while a write transaction holds the one writing connection (they used to queue behind it), and
// cannot write.
func TestSQLiteReadOnlyReadsBesideAnOpenWrite(t *testing.T) {
	ctx := context.Background()
	s, err := Open("sqlite", filepath.Join(t.TempDir(), "reads.db"))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Migrate(ctx))
	require.NoError(t, s.Integrations(ctx).Create(&Integration{ID: "int_a", Name: "a"}, APIKey{ID: "key_a", IntegrationID: "int_a", Hash: "h-a", Prefix: "ak_a"}))
	require.NoError(t, UseRandomKeyring())
	require.NoError(t, s.Integrations(ctx).CreateSecret(&SigningSecret{ID: "sec_a", IntegrationID: "int_a", Secret: "whsec_a"}))

	inWrite, release := make(chan struct{}), make(chan struct{})
	wrote := make(chan error, 1)
	go func() {
		wrote <- s.DB.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("UPDATE integrations SET name = 'changed' WHERE id = 'int_a'").Error; err != nil {
				return err
			}
			close(inWrite)
			<-release
			return nil
		})
	}()
	<-inWrite
	in, err := s.ReadOnly().Integrations(ctx).Get("int_a")
	require.NoError(t, err, "read while the writer's transaction is open")
	require.Equal(t, "a", in.Name, "the last commit, not the open transaction")
	k, err := s.ReadOnly().Integrations(ctx).ActiveKeyByHash("h-a")
	require.NoError(t, err)
	require.Equal(t, "int_a", k.Integration.ID)
	require.Equal(t, "a", k.Integration.Name)
	secrets, err := s.ReadOnly().Integrations(ctx).ActiveSecrets("int_a", time.Now())
	require.NoError(t, err)
	require.Equal(t, []string{"whsec_a"}, secrets, "a sealed secret opens through the read pool")
	close(release)
	require.NoError(t, <-wrote)

	in, err = s.ReadOnly().Integrations(ctx).Get("int_a")
	require.NoError(t, err)
	require.Equal(t, "changed", in.Name, "a commit is seen by the next read")
	require.Error(t, s.ReadOnly().Integrations(ctx).SetSecurity("int_a", InboundSecurity{}), "the read pool cannot write")
}

// The DSN's pragmas take effect on every SQLite connection: WAL, a busy timeout, NORMAL sync and foreign keys on
// both pools, and the read pool refuses writes. (_txlock=immediate is what
// TestSQLiteReadThenWriteTransactionWaitsForAnotherProcess needs.)
func TestSQLiteConnectionPragmas(t *testing.T) {
	s, err := Open("sqlite", filepath.Join(t.TempDir(), "pragmas.db"))
	require.NoError(t, err)
	defer s.Close()
	pragmas := func(db *gorm.DB) map[string]string {
		got := map[string]string{}
		for _, name := range []string{"journal_mode", "busy_timeout", "synchronous", "foreign_keys", "query_only"} {
			var v string
			require.NoError(t, db.Raw("PRAGMA "+name).Scan(&v).Error, name)
			got[name] = v
		}
		return got
	}
	want := map[string]string{"journal_mode": "wal", "busy_timeout": "10000", "synchronous": "1", "foreign_keys": "1"}
	want["query_only"] = "0"
	require.Equal(t, want, pragmas(s.DB), "writer")
	want["query_only"] = "1"
	require.Equal(t, want, pragmas(s.ReadOnly().DB), "read pool")
	require.Error(t, s.ReadOnly().DB.Exec("CREATE TABLE t (n INTEGER)").Error, "the read pool writes nothing")
}

// Times are stored as the text the earlier driver (glebarez/go-sqlite) wrote, so databases it filled read back
// the same and new rows sort with old ones; a text day computed in SQL stays text.
func TestSQLiteTimeText(t *testing.T) {
	ctx := context.Background()
	s, err := Open("sqlite", filepath.Join(t.TempDir(), "times.db"))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Migrate(ctx))

	// As the earlier driver wrote it: "2006-01-02 15:04:05.999999999-07:00".
	require.NoError(t, s.DB.Exec(`INSERT INTO affiliates (id, name, created_at) VALUES ('aff_old', 'old', '2026-10-03 12:34:56.123456789+02:00')`).Error)
	old, err := s.Affiliates(ctx).Get("aff_old", "affiliate")
	require.NoError(t, err)
	require.True(t, old.CreatedAt.Equal(time.Date(2026, 10, 3, 10, 34, 56, 123456789, time.UTC)), "read %v", old.CreatedAt)

	at := time.Date(2026, 10, 4, 8, 0, 1, 500000000, time.UTC)
	require.NoError(t, s.DB.Create(&Affiliate{ID: "aff_new", Name: "new", CreatedAt: at}).Error)
	var text, day string
	require.NoError(t, s.DB.Raw(`SELECT created_at || '', strftime('%Y-%m-%d', created_at) FROM affiliates WHERE id = 'aff_new'`).Row().Scan(&text, &day))
	require.Equal(t, "2026-10-04 08:00:01.5+00:00", text)
	require.Equal(t, "2026-10-04", day)
}
