package store

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// testDatabases opens a fresh empty database per driver: SQLite always, PostgreSQL (a new schema) when
// AFFRELAY_TEST_POSTGRES_DSN is set.
func testDatabases(t *testing.T) map[string]func(t *testing.T) *Store {
	dbs := map[string]func(t *testing.T) *Store{
		"sqlite": func(t *testing.T) *Store {
			s, err := Open("sqlite", filepath.Join(t.TempDir(), "affrelay.db"))
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	if dsn := os.Getenv("AFFRELAY_TEST_POSTGRES_DSN"); dsn != "" {
		dbs["postgres"] = func(t *testing.T) *Store { return openPostgresSchema(t, dsn) }
	}
	return dbs
}

// openPostgresSchema opens a new empty schema of the PostgreSQL database at dsn, dropped when tb ends.
func openPostgresSchema(tb testing.TB, dsn string) *Store {
	admin, err := Open("postgres", dsn)
	require.NoError(tb, err)
	schema := "store_" + strings.TrimPrefix(NewID("s"), "s_")
	require.NoError(tb, admin.DB.Exec("CREATE SCHEMA "+schema).Error)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	s, err := Open("postgres", dsn+sep+"search_path="+schema)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		s.Close()
		admin.DB.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	return s
}

// describeSchema lists every table's columns and indexes, one line each, sorted, so two schemas compare as text.
func describeSchema(t *testing.T, db *gorm.DB) string {
	t.Helper()
	m := db.Migrator()
	tables, err := m.GetTables()
	require.NoError(t, err)
	var lines []string
	for _, table := range tables {
		if table == "goose_db_version" || table == "sqlite_sequence" {
			continue
		}
		cols, err := m.ColumnTypes(table)
		require.NoError(t, err)
		for _, c := range cols {
			length, _ := c.Length()
			if db.Name() == "sqlite" {
				// SQLite reports the length of the first row's value (any text is math.MaxInt64), not of the schema.
				length = 0
			}
			nullable, _ := c.Nullable()
			pk, _ := c.PrimaryKey()
			def, _ := c.DefaultValue()
			lines = append(lines, fmt.Sprintf("%s.%s %s(%d) null=%v pk=%v default=%q",
				table, c.Name(), strings.ToLower(c.DatabaseTypeName()), length, nullable, pk, def))
		}
		idx, err := m.GetIndexes(table)
		require.NoError(t, err)
		for _, i := range idx {
			unique, _ := i.Unique()
			pk, _ := i.PrimaryKey()
			lines = append(lines, fmt.Sprintf("%s index %s %v unique=%v pk=%v", table, i.Name(), i.Columns(), unique, pk))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// A database that the AutoMigrate of commit d88b136 created (its statements are recorded in testdata) is
// adopted in place: its rows stay, it reaches the newest version, and its schema is then exactly that of a
// database built by the migrations alone.
func TestMigrateAdoptsAnAutoMigrateDatabase(t *testing.T) {
	for driver, open := range testDatabases(t) {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			legacy := open(t)
			dump, err := os.ReadFile("testdata/automigrate-d88b136." + driver + ".sql")
			require.NoError(t, err)
			for _, stmt := range strings.Split(string(dump), ";\n") {
				if stmt = strings.TrimSpace(stmt); stmt != "" {
					require.NoError(t, legacy.DB.Exec(stmt).Error, stmt)
				}
			}
			// Only the legacy columns: the model has grown since.
			require.NoError(t, legacy.DB.Exec(`INSERT INTO integrations (id, name) VALUES ('int_legacy', 'legacy')`).Error)

			require.NoError(t, legacy.Migrate(ctx))
			current, latest, err := legacy.SchemaVersion(ctx)
			require.NoError(t, err)
			require.Equal(t, latest, current)
			var kept Integration
			require.NoError(t, legacy.DB.First(&kept, "id = ?", "int_legacy").Error)
			require.Equal(t, "legacy", kept.Name)

			fresh := open(t)
			require.NoError(t, fresh.Migrate(ctx))
			require.Equal(t, describeSchema(t, fresh.DB), describeSchema(t, legacy.DB), "schema after adoption differs from a migrated one")

			require.NoError(t, legacy.Migrate(ctx), "a second run has nothing to do")
		})
	}
}

// Every model has its table, columns and indexes in the migrations, and the migrations create no table that no
// model describes: a model change without its migration file (or the reverse) fails here.
func TestMigrationsMatchTheModels(t *testing.T) {
	for driver, open := range testDatabases(t) {
		t.Run(driver, func(t *testing.T) {
			s := open(t)
			require.NoError(t, s.Migrate(context.Background()))
			m := s.DB.Migrator()
			var modelTables []string
			for _, model := range models {
				stmt := &gorm.Statement{DB: s.DB}
				require.NoError(t, stmt.Parse(model))
				table := stmt.Schema.Table
				modelTables = append(modelTables, table)
				require.True(t, m.HasTable(table), "table %s has no migration", table)
				cols, err := m.ColumnTypes(table)
				require.NoError(t, err)
				var have []string
				for _, c := range cols {
					have = append(have, c.Name())
				}
				require.ElementsMatch(t, stmt.Schema.DBNames, have, "columns of %s", table)
				for _, idx := range stmt.Schema.ParseIndexes() {
					require.True(t, m.HasIndex(model, idx.Name), "index %s of %s has no migration", idx.Name, table)
				}
			}
			tables, err := m.GetTables()
			require.NoError(t, err)
			for _, table := range tables {
				require.True(t, table == "goose_db_version" || table == "sqlite_sequence" || slices.Contains(modelTables, table), "table %s has no model", table)
			}
		})
	}
}

// Each migration exists for both dialects under the same version and name, so neither database falls behind.
func TestMigrationsExistForEveryDialect(t *testing.T) {
	names := map[string][]string{}
	for _, dialect := range []string{"sqlite", "postgres"} {
		entries, err := fs.ReadDir(migrations, "migrations/"+dialect)
		require.NoError(t, err)
		for _, e := range entries {
			names[dialect] = append(names[dialect], e.Name())
		}
	}
	require.NotEmpty(t, names["sqlite"])
	require.Equal(t, names["sqlite"], names["postgres"])
}

// Every migration can be undone: down to nothing (no table left but goose's own), then up again to the same schema.
func TestMigrationsGoDownAndUpAgain(t *testing.T) {
	for driver, open := range testDatabases(t) {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			require.NoError(t, s.Migrate(ctx))
			before := describeSchema(t, s.DB)
			p, err := s.migrationProvider(ctx)
			require.NoError(t, err)
			_, err = p.DownTo(ctx, 0)
			require.NoError(t, err)
			tables, err := s.DB.Migrator().GetTables()
			require.NoError(t, err)
			for _, table := range tables {
				require.Contains(t, []string{"goose_db_version", "sqlite_sequence"}, table, "left after going down")
			}
			require.NoError(t, s.Migrate(ctx))
			require.Equal(t, before, describeSchema(t, s.DB))
		})
	}
}
