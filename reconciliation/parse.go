// Package reconciliation reads an operator's daily revenue file (one row per player and day) and compares it
// with what real-time postbacks recorded. It does no I/O beyond reading an io.Reader: the caller stages the
// rows, loads the real-time events and writes the corrections.
package reconciliation

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/postback"
)

// Column names of the file, as documented; Aliases lists the other spellings accepted for each.
const (
	ColDate         = "date"
	ColPlayerID     = "player_id"
	ColAffiliateID  = "affiliate_id"
	ColFirstDeposit = "first_deposit"
	ColDeposits     = "deposits"
	ColNGR          = "ngr"
	ColCurrency     = "currency"
	// ColVolume is a forex player-day's traded volume in lots (at most postback.LotDecimals decimals).
	ColVolume = "volume"
)

// Aliases maps every accepted header (lower case, spaces and hyphens as underscores) to its column.
var Aliases = map[string]string{
	"date": ColDate, "day": ColDate, "report_date": ColDate, "activity_date": ColDate, "stat_date": ColDate,
	"player_id": ColPlayerID, "player": ColPlayerID, "playerid": ColPlayerID, "customer_id": ColPlayerID,
	"customer": ColPlayerID, "user_id": ColPlayerID, "player_ref": ColPlayerID,
	"affiliate_id": ColAffiliateID, "affiliate": ColAffiliateID, "aff_id": ColAffiliateID, "partner_id": ColAffiliateID,
	"first_deposit": ColFirstDeposit, "ftd": ColFirstDeposit, "ftd_amount": ColFirstDeposit, "first_deposit_amount": ColFirstDeposit,
	"deposits": ColDeposits, "deposit": ColDeposits, "deposit_amount": ColDeposits, "total_deposits": ColDeposits, "deposits_amount": ColDeposits,
	"ngr": ColNGR, "net_gaming_revenue": ColNGR, "net_revenue": ColNGR, "revenue": ColNGR,
	"currency": ColCurrency, "ccy": ColCurrency, "currency_code": ColCurrency,
	"volume": ColVolume, "lots": ColVolume, "volume_lots": ColVolume, "traded_volume": ColVolume, "trading_volume": ColVolume,
}

// MaxErrors is how many row errors a refused file lists.
const MaxErrors = 100

// maxIDLength bounds player and affiliate ids, as postbacks do.
const maxIDLength = 128

// Row is one player-day of the file, validated. Line is where it starts (1-based).
type Row struct {
	Line              int
	Date              string // YYYY-MM-DD, UTC day
	PlayerID          string
	AffiliateID       string
	Currency          string
	HasFirstDeposit   bool
	FirstDepositMinor int64
	DepositsMinor     int64
	NGRMinor          int64
	// HasVolume says the row states a volume; VolumeLots is it, in hundredths of a lot.
	HasVolume  bool
	VolumeLots int64
}

// Day returns the row's day as midnight UTC.
func (r Row) Day() time.Time {
	t, _ := time.Parse(time.DateOnly, r.Date)
	return t
}

// RowError says what is wrong where: Line (1-based), Column (1-based field position in a CSV row, 0 in JSON)
// and Field (the documented column name, when known).
type RowError struct {
	Line    int    `json:"line"`
	Column  int    `json:"column,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (e *RowError) Error() string {
	where := fmt.Sprintf("line %d", e.Line)
	if e.Column > 0 {
		where += fmt.Sprintf(", column %d", e.Column)
	}
	if e.Field != "" {
		where += " (" + e.Field + ")"
	}
	return where + ": " + e.Message
}

// Formats of a file.
const (
	FormatCSV  = "csv"
	FormatJSON = "json" // an array of objects, or NDJSON (one object per line)
)

// ErrUnsupportedFormat is returned for a Content-Type that is neither CSV nor JSON.
var ErrUnsupportedFormat = errors.New("unsupported content type: send text/csv, application/json or application/x-ndjson")

// ErrTooLarge is returned when the (decompressed) file passes the size limit.
var ErrTooLarge = errors.New("file is larger than the limit")

// FormatOf maps a Content-Type to a format; "" means sniff the first byte.
func FormatOf(contentType string) (string, error) {
	if contentType == "" {
		return "", nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", ErrUnsupportedFormat
	}
	switch mt {
	case "text/csv", "application/csv", "text/plain":
		return FormatCSV, nil
	case "application/json", "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines":
		return FormatJSON, nil
	}
	return "", ErrUnsupportedFormat
}

// Decode undoes a Content-Encoding (identity or gzip) and caps the decoded size at limit bytes, so a small
// compressed body cannot expand past what an uncompressed one may be.
func Decode(r io.Reader, contentEncoding string, limit int64) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrBadEncoding, err)
		}
		r = zr
	default:
		return nil, fmt.Errorf("%w: unsupported Content-Encoding %q: send gzip or none", ErrBadEncoding, contentEncoding)
	}
	return &limitedReader{r: r, left: limit}, nil
}

type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more than allowed tells a file of exactly the limit from a larger one.
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			return 0, ErrTooLarge
		}
		return l.r.Read(p[:0])
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// Parser reads rows one at a time. Next returns each valid row; a *RowError for a row that is wrong (reading
// goes on, so a caller can list many); any other error ends the file.
type Parser struct {
	next func() (Row, error)
	// index is each known column's 0-based position in a CSV header; nil for JSON.
	index map[string]int
}

// Column is the 1-based column of col in a CSV file, 0 when JSON or absent: for errors found across rows.
func (p *Parser) Column(col string) int {
	if i, ok := p.index[col]; ok {
		return i + 1
	}
	return 0
}

// NewParser reads a file of the given format ("" sniffs: '[' or '{' first means JSON, else CSV).
func NewParser(r io.Reader, format string) (*Parser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if format == "" {
		format = FormatCSV
		head, _ := br.Peek(4096)
		if first := bytes.TrimLeft(head, " \t\r\n"); len(first) > 0 && (first[0] == '[' || first[0] == '{') {
			format = FormatJSON
		}
	}
	switch format {
	case FormatCSV:
		return newCSVParser(br)
	case FormatJSON:
		return newJSONParser(br), nil
	}
	return nil, ErrUnsupportedFormat
}

// Next returns the next row, or io.EOF after the last.
func (p *Parser) Next() (Row, error) { return p.next() }

func normalizeHeader(h string) string {
	h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
	return strings.NewReplacer(" ", "_", "-", "_").Replace(h)
}

func newCSVParser(r io.Reader) (*Parser, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &RowError{Line: 1, Message: "the file is empty: a header row is needed"}
	}
	if err != nil {
		return nil, csvError(err)
	}
	index := map[string]int{}
	for i, h := range header {
		col, ok := Aliases[normalizeHeader(h)]
		if !ok {
			continue // unknown columns are ignored
		}
		if prev, dup := index[col]; dup {
			return nil, &RowError{Line: 1, Column: i + 1, Field: col, Message: fmt.Sprintf("column %s given twice (also column %d)", col, prev+1)}
		}
		index[col] = i
	}
	for _, col := range []string{ColDate, ColPlayerID, ColCurrency} {
		if _, ok := index[col]; !ok {
			return nil, &RowError{Line: 1, Field: col, Message: "the header has no " + col + " column"}
		}
	}
	next := func() (Row, error) {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return Row{}, io.EOF
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && !errors.Is(pe.Err, csv.ErrFieldCount) && !errors.Is(pe.Err, csv.ErrQuote) && !errors.Is(pe.Err, csv.ErrBareQuote) {
				return Row{}, err // a read error, not a malformed row
			}
			return Row{}, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		get := func(col string) (string, int, bool) {
			i, ok := index[col]
			if !ok || i >= len(rec) {
				return "", 0, false
			}
			return rec[i], i + 1, true
		}
		return buildRow(line, get)
	}
	return &Parser{next: next, index: index}, nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &RowError{Line: pe.Line, Column: pe.Column, Message: pe.Err.Error()}
	}
	if errors.Is(err, ErrTooLarge) {
		return err
	}
	var re *RowError
	if errors.As(err, &re) {
		return err
	}
	return err
}

// buildRow validates one row; get returns a column's raw value, its 1-based column and whether it is present.
func buildRow(line int, get func(col string) (string, int, bool)) (Row, error) {
	row := Row{Line: line}
	fail := func(col, msg string) (Row, error) {
		_, c, _ := get(col)
		return Row{}, &RowError{Line: line, Column: c, Field: col, Message: msg}
	}
	date, _, _ := get(ColDate)
	date = strings.TrimSpace(date)
	if date == "" {
		return fail(ColDate, "is missing")
	}
	if _, err := time.Parse(time.DateOnly, date); err != nil || len(date) != 10 {
		return fail(ColDate, fmt.Sprintf("%q is not a date as YYYY-MM-DD", clip(date)))
	}
	row.Date = date
	var ok bool
	if row.PlayerID, ok = id(get, ColPlayerID); !ok {
		return fail(ColPlayerID, idProblem(get, ColPlayerID, true))
	}
	if row.AffiliateID, ok = id(get, ColAffiliateID); !ok && idProblem(get, ColAffiliateID, false) != "" {
		return fail(ColAffiliateID, idProblem(get, ColAffiliateID, false))
	}
	cur, _, _ := get(ColCurrency)
	row.Currency = strings.ToUpper(strings.TrimSpace(cur))
	if row.Currency == "" {
		return fail(ColCurrency, "is missing")
	}
	if !money.ValidCurrency(row.Currency) {
		return fail(ColCurrency, fmt.Sprintf("%q is not an ISO 4217 currency", clip(row.Currency)))
	}
	amount := func(col string, negative bool) (int64, bool, error) {
		raw, _, _ := get(col)
		raw = strings.TrimSpace(raw)
		if raw == "" {
			return 0, false, nil
		}
		v, err := money.Parse(raw, row.Currency)
		if err != nil {
			_, err = fail(col, err.Error())
			return 0, false, err
		}
		if v < 0 && !negative {
			_, err = fail(col, "must not be negative")
			return 0, false, err
		}
		return v, true, nil
	}
	var err error
	if row.FirstDepositMinor, row.HasFirstDeposit, err = amount(ColFirstDeposit, false); err != nil {
		return Row{}, err
	}
	var given bool
	if row.DepositsMinor, given, err = amount(ColDeposits, false); err != nil {
		return Row{}, err
	}
	if !given {
		row.DepositsMinor = row.FirstDepositMinor // deposits include the first deposit
	}
	if row.FirstDepositMinor > row.DepositsMinor {
		return fail(ColDeposits, "is less than first_deposit, which it includes")
	}
	if row.NGRMinor, _, err = amount(ColNGR, true); err != nil {
		return Row{}, err
	}
	if raw, _, _ := get(ColVolume); strings.TrimSpace(raw) != "" {
		lots, err := postback.ParseLots(strings.TrimSpace(raw))
		if err != nil {
			return fail(ColVolume, "is lots with at most 2 decimal places: "+err.Error())
		}
		if lots < 0 {
			return fail(ColVolume, "must not be negative")
		}
		row.HasVolume, row.VolumeLots = true, lots
	}
	return row, nil
}

// id reads an identifier column; ok is false when it is empty or not a valid identifier.
func id(get func(string) (string, int, bool), col string) (string, bool) {
	v, _, _ := get(col)
	v = strings.TrimSpace(v)
	return v, v != "" && idProblem(get, col, true) == ""
}

// idProblem says what is wrong with an identifier column, "" when nothing (an absent optional one is fine).
func idProblem(get func(string) (string, int, bool), col string, required bool) string {
	v, _, _ := get(col)
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		if required {
			return "is missing"
		}
		return ""
	case len(v) > maxIDLength:
		return fmt.Sprintf("is longer than %d bytes", maxIDLength)
	case !utf8.ValidString(v) || strings.ContainsRune(v, utf8.RuneError):
		// JSON decoding turns invalid bytes and lone surrogates into U+FFFD, which no real id contains.
		return "is not valid UTF-8 (invalid bytes, a lone surrogate or U+FFFD)"
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return "contains a control character"
		}
	}
	return ""
}

// clip keeps hostile values short in messages.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// jsonParser reads an array of objects or a stream of objects (NDJSON), token by token so each field's line is known.
type jsonParser struct {
	dec     *json.Decoder
	lines   *lineCounter
	inArray bool
	started bool
	done    bool
}

func newJSONParser(r io.Reader) *Parser {
	lc := &lineCounter{r: r}
	dec := json.NewDecoder(lc)
	dec.UseNumber()
	p := &jsonParser{dec: dec, lines: lc}
	return &Parser{next: p.next}
}

func (p *jsonParser) line() int { return p.lines.lineAt(p.dec.InputOffset()) }

func (p *jsonParser) syntax(err error) error {
	if errors.Is(err, ErrTooLarge) {
		return err
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &RowError{Line: p.lines.lineAt(se.Offset), Message: "JSON: " + se.Error()}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &RowError{Line: p.line(), Message: "JSON: the file ends in the middle of a value"}
	}
	var re *RowError
	if errors.As(err, &re) {
		return err
	}
	return fmt.Errorf("JSON: %w", err)
}

func (p *jsonParser) next() (Row, error) {
	if p.done {
		return Row{}, io.EOF
	}
	tok, err := p.dec.Token()
	if errors.Is(err, io.EOF) && !p.inArray {
		p.done = true
		return Row{}, io.EOF
	}
	if err != nil {
		p.done = true
		return Row{}, p.syntax(err)
	}
	if !p.started {
		p.started = true
		if tok == json.Delim('[') {
			p.inArray = true
			return p.next()
		}
	}
	if p.inArray && tok == json.Delim(']') {
		p.done = true
		if _, err := p.dec.Token(); !errors.Is(err, io.EOF) {
			return Row{}, &RowError{Line: p.line(), Message: "JSON: more data after the array"}
		}
		return Row{}, io.EOF
	}
	line := p.line()
	if tok != json.Delim('{') {
		p.done = true
		return Row{}, &RowError{Line: line, Message: "JSON: each row must be an object"}
	}
	values := map[string]string{}
	var rowErr error
	for p.dec.More() {
		keyTok, err := p.dec.Token()
		if err != nil {
			p.done = true
			return Row{}, p.syntax(err)
		}
		key, _ := keyTok.(string)
		fieldLine := p.line()
		col, known := Aliases[normalizeHeader(key)]
		v, err := p.dec.Token()
		if err != nil {
			p.done = true
			return Row{}, p.syntax(err)
		}
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case json.Number:
			s = x.String()
		case nil:
		case json.Delim:
			if err := p.skip(x); err != nil {
				p.done = true
				return Row{}, p.syntax(err)
			}
			if known && rowErr == nil {
				rowErr = &RowError{Line: fieldLine, Field: col, Message: "must be a string or a number"}
			}
			continue
		default:
			if known && rowErr == nil {
				rowErr = &RowError{Line: fieldLine, Field: col, Message: "must be a string or a number"}
			}
			continue
		}
		if !known {
			continue
		}
		if _, dup := values[col]; dup && rowErr == nil {
			rowErr = &RowError{Line: fieldLine, Field: col, Message: "given twice in one row"}
		}
		values[col] = s
	}
	if _, err := p.dec.Token(); err != nil { // the closing '}'
		p.done = true
		return Row{}, p.syntax(err)
	}
	if rowErr != nil {
		return Row{}, rowErr
	}
	return buildRow(line, func(col string) (string, int, bool) {
		v, ok := values[col]
		return v, 0, ok
	})
}

// skip reads past the rest of a nested array or object whose opening delimiter was just read.
func (p *jsonParser) skip(open json.Delim) error {
	if open != '[' && open != '{' {
		return nil
	}
	depth := 1
	for depth > 0 {
		tok, err := p.dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
	return nil
}

// lineCounter counts the newlines read so far and tells the line of an offset not before the last one asked:
// the decoder only reads ahead by its buffer, so only the newlines of that window are kept.
type lineCounter struct {
	r       io.Reader
	read    int64
	pending []int64 // offsets of newlines not yet passed by a lineAt query
	passed  int
}

func (l *lineCounter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i := 0; i < n; {
		j := bytes.IndexByte(p[i:n], '\n')
		if j < 0 {
			break
		}
		l.pending = append(l.pending, l.read+int64(i+j))
		i += j + 1
	}
	l.read += int64(n)
	return n, err
}

func (l *lineCounter) lineAt(offset int64) int {
	k := 0
	for k < len(l.pending) && l.pending[k] < offset {
		k++
	}
	l.passed += k
	l.pending = l.pending[k:]
	return l.passed + 1
}

// FileError refuses a whole file: the first errors (at most MaxErrors) and how many there were.
type FileError struct {
	Errors []RowError
	Total  int
}

func (e *FileError) Error() string {
	return fmt.Sprintf("the file has %d error(s); nothing was applied; first: %s", e.Total, e.Errors[0].Error())
}

// ErrBadEncoding is an unknown Content-Encoding or a body that is not the gzip it claims.
var ErrBadEncoding = errors.New("bad content encoding")
