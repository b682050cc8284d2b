package reconciliation

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// readAll returns every row and every row error of a file, and the error that ended it (nil at EOF).
func readAll(t testing.TB, body, format string) ([]Row, []*RowError, error) {
	p, err := NewParser(strings.NewReader(body), format)
	if err != nil {
		var re *RowError
		if errors.As(err, &re) {
			return nil, []*RowError{re}, nil
		}
		return nil, nil, err
	}
	var rows []Row
	var errs []*RowError
	for {
		r, err := p.Next()
		if errors.Is(err, io.EOF) {
			return rows, errs, nil
		}
		var re *RowError
		if errors.As(err, &re) {
			errs = append(errs, re)
			continue
		}
		if err != nil {
			return rows, errs, err
		}
		rows = append(rows, r)
	}
}

func TestParseFormats(t *testing.T) {
	want := []Row{
		{Line: 2, Date: "2026-10-01", PlayerID: "p1", AffiliateID: "aff_1", Currency: "USD", HasFirstDeposit: true, FirstDepositMinor: 5000, DepositsMinor: 7500, NGRMinor: -1234},
		{Line: 3, Date: "2026-10-02", PlayerID: "p 2", Currency: "JPY", DepositsMinor: 300, NGRMinor: 0},
	}
	tests := []struct{ name, format, body string }{
		{"csv, any column order, aliases, unknown columns ignored", FormatCSV,
			"Customer ID,ccy,Day,NGR,deposits,ftd,affiliate,bonus\np1,usd,2026-10-01,-12.34,75.00,50,aff_1,3.5\n\"p 2\",JPY,2026-10-02,,300,,,\n"},
		{"csv sniffed, with a byte order mark and CRLF", "", "\ufeffdate,player_id,currency,first_deposit,deposits,ngr,affiliate_id\r\n2026-10-01,p1,USD,50.00,75.00,-12.34,aff_1\r\n2026-10-02,p 2,JPY,,300,0,\r\n"},
		{"json array, one object per line", FormatJSON, "[\n" +
			`{"date":"2026-10-01","player":"p1","currency":"USD","first_deposit":50,"deposits":"75.00","ngr":-12.34,"affiliate_id":"aff_1","extra":{"x":[1]}},` + "\n" +
			`{"date":"2026-10-02","player_id":"p 2","currency":"JPY","first_deposit":null,"deposits":300}` + "\n]"},
		{"ndjson sniffed", "", "\n" + `{"date":"2026-10-01","player_id":"p1","currency":"USD","first_deposit":"50","deposits":75,"ngr":"-12.34","affiliate_id":"aff_1"}` + "\n" +
			`{"date":"2026-10-02","player_id":"p 2","currency":"JPY","deposits":300}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, errs, err := readAll(t, tt.body, tt.format)
			require.NoError(t, err)
			require.Empty(t, errs)
			require.Equal(t, want, rows)
		})
	}
}

func TestParseRowErrors(t *testing.T) {
	const header = "date,player_id,currency,first_deposit,deposits,ngr\n"
	tests := []struct {
		name, format, body string
		want               RowError
	}{
		{"bad header", FormatCSV, "day,who,ccy\n", RowError{Line: 1, Field: "player_id", Message: "the header has no player_id column"}},
		{"empty file", FormatCSV, "", RowError{Line: 1, Message: "the file is empty: a header row is needed"}},
		{"a column twice", FormatCSV, "date,player,customer_id,currency\n", RowError{Line: 1, Column: 3, Field: "player_id", Message: "column player_id given twice (also column 2)"}},
		{"unparsable number", FormatCSV, header + "2026-10-01,p1,USD,,1O.00,0\n", RowError{Line: 2, Column: 5, Field: "deposits", Message: `"1O.00" is not a decimal number`}},
		{"too many decimals for the currency", FormatCSV, header + "2026-10-01,p1,USD,,10.001,0\n", RowError{Line: 2, Column: 5, Field: "deposits", Message: `"10.001" has more than 2 decimal places for USD`}},
		{"bad date", FormatCSV, header + "2026-02-30,p1,USD,,1,0\n", RowError{Line: 2, Column: 1, Field: "date", Message: `"2026-02-30" is not a date as YYYY-MM-DD`}},
		{"missing player", FormatCSV, header + "2026-10-01,,USD,,1,0\n", RowError{Line: 2, Column: 2, Field: "player_id", Message: "is missing"}},
		{"negative deposits", FormatCSV, header + "2026-10-01,p1,USD,,-1,0\n", RowError{Line: 2, Column: 5, Field: "deposits", Message: "must not be negative"}},
		{"first deposit above deposits", FormatCSV, header + "2026-10-01,p1,USD,20,10,0\n", RowError{Line: 2, Column: 5, Field: "deposits", Message: "is less than first_deposit, which it includes"}},
		{"unknown currency", FormatCSV, header + "2026-10-01,p1,XYZ,,1,0\n", RowError{Line: 2, Column: 3, Field: "currency", Message: `"XYZ" is not an ISO 4217 currency`}},
		{"wrong field count", FormatCSV, header + "2026-10-01,p1,USD\n", RowError{Line: 2, Column: 1, Message: "wrong number of fields"}},
		{"json field on its own line", FormatJSON, "[\n{\"date\":\"2026-10-01\",\n\"player_id\":\"p1\",\n\"currency\":\"USD\",\n\"deposits\":true}\n]", RowError{Line: 5, Field: "deposits", Message: "must be a string or a number"}},
		{"json syntax error", FormatJSON, "[\n{\"date\":\"2026-10-01\"},\n{oops}\n]", RowError{Line: 3, Message: "JSON: invalid character 'o'"}},
		{"json cut off", FormatJSON, "[\n{\"date\":\"2026-10-01\",\"player_id\":\"p1\"", RowError{Line: 2, Message: "JSON: the file ends in the middle of a value"}},
		{"json not objects", FormatJSON, "[1]", RowError{Line: 1, Message: "JSON: each row must be an object"}},
		{"volume with 3 decimals", FormatCSV, "date,player_id,currency,volume\n2026-10-01,p1,USD,1.255\n", RowError{Line: 2, Column: 4, Field: "volume", Message: `is lots with at most 2 decimal places: "1.255" has more than 2 decimal places`}},
		{"negative volume", FormatCSV, "date,player_id,currency,lots\n2026-10-01,p1,USD,-1\n", RowError{Line: 2, Column: 4, Field: "volume", Message: "must not be negative"}},
		{"volume not a number", FormatJSON, `[{"date":"2026-10-01","player_id":"p1","currency":"USD","volume":"1e2"}]`, RowError{Line: 1, Field: "volume", Message: `is lots with at most 2 decimal places: "1e2" is not a decimal number`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs, err := readAll(t, tt.body, tt.format)
			require.NoError(t, err)
			require.NotEmpty(t, errs)
			require.Equal(t, tt.want, *errs[len(errs)-1])
		})
	}
}

func TestParseVolume(t *testing.T) {
	for _, c := range []struct{ name, format, body string }{
		{"csv", FormatCSV, "date,player_id,currency,volume\n2026-11-02,c1,USD,62.5\n2026-11-03,c1,USD,\n2026-11-04,c1,USD,0\n"},
		{"json numbers and strings", FormatJSON, `[{"date":"2026-11-02","player_id":"c1","currency":"USD","traded_volume":62.5},` +
			`{"date":"2026-11-03","player_id":"c1","currency":"USD","volume":null},{"date":"2026-11-04","player_id":"c1","currency":"USD","lots":"0.00"}]`},
	} {
		rows, errs, err := readAll(t, c.body, c.format)
		require.NoError(t, err, c.name)
		require.Empty(t, errs, c.name)
		require.Len(t, rows, 3, c.name)
		require.Equal(t, []bool{true, false, true}, []bool{rows[0].HasVolume, rows[1].HasVolume, rows[2].HasVolume}, c.name)
		require.Equal(t, []int64{6250, 0, 0}, []int64{rows[0].VolumeLots, rows[1].VolumeLots, rows[2].VolumeLots}, c.name)
	}
}

func TestParseContinuesAfterARowError(t *testing.T) {
	body := "date,player_id,currency,deposits\n2026-10-01,p1,USD,x\n2026-10-01,p2,USD,1\n2026-13-01,p3,USD,1\n"
	rows, errs, err := readAll(t, body, FormatCSV)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Equal(t, []int{2, 4}, []int{errs[0].Line, errs[1].Line})
}

func TestDecodeStopsAGzipBombAtTheLimit(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(bytes.Repeat([]byte("0"), 10<<20))
	require.NoError(t, zw.Close())
	require.Less(t, buf.Len(), 64<<10)

	r, err := Decode(bytes.NewReader(buf.Bytes()), "gzip", 1<<20)
	require.NoError(t, err)
	n, err := io.Copy(io.Discard, r)
	require.ErrorIs(t, err, ErrTooLarge)
	require.LessOrEqual(t, n, int64(1<<20))

	r, err = Decode(bytes.NewReader(buf.Bytes()), "gzip", 10<<20)
	require.NoError(t, err)
	n, err = io.Copy(io.Discard, r)
	require.NoError(t, err, "a file of exactly the limit is accepted")
	require.Equal(t, int64(10<<20), n)

	_, err = Decode(strings.NewReader("x"), "br", 10)
	require.Error(t, err)
}

func TestFormatOf(t *testing.T) {
	for ct, want := range map[string]string{"text/csv; charset=utf-8": FormatCSV, "application/json": FormatJSON, "application/x-ndjson": FormatJSON, "": ""} {
		got, err := FormatOf(ct)
		require.NoError(t, err)
		require.Equal(t, want, got, ct)
	}
	_, err := FormatOf("application/xml")
	require.ErrorIs(t, err, ErrUnsupportedFormat)
}

// The parser never panics, never returns a row that breaks its own rules, and ends on any input.
// fuzz-short: 20000x
func FuzzParser(f *testing.F) {
	f.Add("date,player_id,currency,first_deposit,deposits,ngr\n2026-10-01,p1,USD,1,2.50,-3\n")
	f.Add("[{\"date\":\"2026-10-01\",\"player_id\":\"p\",\"currency\":\"EUR\",\"ngr\":-1.5,\"x\":[{}]}]")
	f.Add("{\"date\":\"2026-10-01\",\"player_id\":\"p\",\"currency\":\"JPY\",\"deposits\":\"5\"}\n{")
	f.Add("\"a\nb\",c\n")
	f.Add("date,player_id,currency,volume\n2026-10-01,p1,USD,1.25\n2026-10-01,p2,USD,1.255\n")
	f.Fuzz(func(t *testing.T, body string) {
		for _, format := range []string{"", FormatCSV, FormatJSON} {
			rows, errs, _ := readAll(t, body, format)
			for _, r := range rows {
				if r.PlayerID == "" || len(r.Date) != 10 || r.Currency == "" || r.DepositsMinor < r.FirstDepositMinor || r.FirstDepositMinor < 0 || r.Line < 1 ||
					r.VolumeLots < 0 || (!r.HasVolume && r.VolumeLots != 0) {
					t.Fatalf("invalid row accepted: %+v", r)
				}
			}
			for _, e := range errs {
				if e.Line < 1 || e.Message == "" {
					t.Fatalf("row error without a place: %+v", e)
				}
			}
		}
	})
}
