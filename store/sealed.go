package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"

	"gorm.io/gorm/schema"

	"github.com/affrelay/affrelay/seal"
)

// Secrets that must be kept (inbound signing secrets, webhook secrets, the reconciliation pull's auth value)
// are sealed columns: `gorm:"serializer:sealed"` encrypts them on every write and decrypts them on every
// read with the process's keyring, so no query can store one in clear, and a copy of the database alone
// reveals none of them.

var keyring atomic.Pointer[seal.Keyring]

// UseKeyring sets the keys sealed columns are encrypted and decrypted with, for the whole process (set at
// start-up, from secrets.keys and secrets.current_key).
func UseKeyring(k *seal.Keyring) { keyring.Store(k) }

// errNoKeyring is returned when a sealed column is read or written before UseKeyring.
var errNoKeyring = errors.New("no secrets key configured (secrets.keys, secrets.current_key)")

func init() { schema.RegisterSerializer("sealed", sealedSerializer{}) }

type sealedSerializer struct{}

func (sealedSerializer) Scan(ctx context.Context, field *schema.Field, dst reflect.Value, dbValue any) error {
	var stored string
	switch v := dbValue.(type) {
	case nil:
	case string:
		stored = v
	case []byte:
		stored = string(v)
	default:
		return fmt.Errorf("sealed column %s holds a %T", field.DBName, dbValue)
	}
	plain := stored
	if stored != "" {
		k := keyring.Load()
		if k == nil {
			return errNoKeyring
		}
		var err error
		if plain, err = k.Open(stored); err != nil {
			return fmt.Errorf("column %s: %w", field.DBName, err)
		}
	}
	field.ReflectValueOf(ctx, dst).SetString(plain)
	return nil
}

func (sealedSerializer) Value(_ context.Context, field *schema.Field, _ reflect.Value, fieldValue any) (any, error) {
	plain, _ := fieldValue.(string)
	if plain == "" {
		return "", nil
	}
	k := keyring.Load()
	if k == nil {
		return nil, errNoKeyring
	}
	return k.Seal(plain)
}

// sealedColumns are the tables and columns holding sealed values, by primary key column.
var sealedColumns = []struct{ table, key, column string }{
	{"signing_secrets", "id", "secret"},
	{"webhook_secrets", "id", "secret"},
	{"reconciliation_pulls", "integration_id", "auth_value"},
}

// ResealResult counts, per table.column, the values re-sealed under the current key.
type ResealResult map[string]int

// Reseal re-encrypts under the current key every sealed value that is not (stored in clear before secrets were
// sealed, or under an older key), each row in its own update keyed by its old value, so a concurrent writer
// or a second run is harmless. A value under a key the keyring no longer holds is an error naming it.
func (s *Store) Reseal(ctx context.Context) (ResealResult, error) {
	k := keyring.Load()
	if k == nil {
		return nil, errNoKeyring
	}
	out := ResealResult{}
	for _, c := range sealedColumns {
		var rows []struct{ Key, Value string }
		if err := s.DB.WithContext(ctx).Table(c.table).Select(c.key + " AS key, " + c.column + " AS value").Scan(&rows).Error; err != nil {
			return out, err
		}
		for _, r := range rows {
			if k.Current(r.Value) {
				continue
			}
			plain, err := k.Open(r.Value)
			if err != nil {
				return out, fmt.Errorf("%s %s: %w", c.table, r.Key, err)
			}
			sealed, err := k.Seal(plain)
			if err != nil {
				return out, err
			}
			res := s.DB.WithContext(ctx).Table(c.table).Where(c.key+" = ? AND "+c.column+" = ?", r.Key, r.Value).UpdateColumn(c.column, sealed)
			if res.Error != nil {
				return out, res.Error
			}
			out[c.table+"."+c.column] += int(res.RowsAffected)
		}
	}
	return out, nil
}

// UseRandomKeyring seals under one new random key, for processes whose secrets need not outlive them (tests).
func UseRandomKeyring() error {
	k, err := seal.RandomKeyring("random")
	if err != nil {
		return err
	}
	UseKeyring(k)
	return nil
}
