package store

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
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
