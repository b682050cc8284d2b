// Package strictjson finds what encoding/json silently papers over in a JSON text: a member given twice in one
// object (where the last one would win) and strings that are not valid Unicode (which would become U+FFFD);
// and a number beyond any float64, which it would refuse only when binding, without naming the member.
// It does no I/O; every JSON body affrelay binds goes through Check first.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FieldError names the member that is wrong, as a path such as plan.tiers[2].rate ("" for the whole body).
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + " " + e.Message
}

// Messages of a FieldError.
const (
	MsgDuplicate   = "is given more than once"
	MsgBadUnicode  = "must be valid UTF-8: no invalid bytes and no lone surrogate escapes such as \\udfff"
	MsgNumberRange = "is a number too large to hold (beyond ±1.8e308)"
)

// frame is one open object or array.
type frame struct {
	object bool
	keys   map[string]bool // folded member names seen so far
	key    string          // the current member name, as sent
	index  int             // the current array element
	// expectKey is true in an object when the next token is a member name.
	expectKey bool
}

// Check returns a *FieldError for a duplicate member, a string that is not valid Unicode or a number out of
// float64's range, a syntax error
// (not a *FieldError) for a text that is not exactly one JSON value, and nil otherwise. Member names count
// as duplicates when they differ only in case, because encoding/json matches struct fields that way.
func Check(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*frame
	read := false // one whole value has been read
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) && read {
			return nil
		}
		if errors.Is(err, io.EOF) {
			return errors.New("the body is not a JSON value")
		}
		if err != nil {
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expectKey {
			if d, ok := tok.(json.Delim); !ok || d != '}' {
				name := tok.(string) // the decoder allows nothing else here
				top.key = name
				if !validString(data[start:dec.InputOffset()]) {
					return &FieldError{Field: path(stack), Message: MsgBadUnicode}
				}
				folded := fold(name)
				if top.keys[folded] {
					return &FieldError{Field: path(stack), Message: MsgDuplicate}
				}
				top.keys[folded] = true
				top.expectKey = false
				continue
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, &frame{object: true, keys: map[string]bool{}, expectKey: true})
				continue
			case '[':
				stack = append(stack, &frame{})
				continue
			}
			stack = stack[:len(stack)-1] // '}' or ']'
		case string:
			if !validString(data[start:dec.InputOffset()]) {
				return &FieldError{Field: path(stack), Message: MsgBadUnicode}
			}
		case json.Number:
			if _, err := strconv.ParseFloat(string(t), 64); err != nil {
				return &FieldError{Field: path(stack), Message: MsgNumberRange}
			}
		}
		if len(stack) > 0 {
			afterValue(stack[len(stack)-1])
			continue
		}
		read = true
		if dec.More() {
			return errors.New("the body holds more than one JSON value")
		}
	}
}

// afterValue moves an open object or array past the value just read in it.
func afterValue(top *frame) {
	if top.object {
		top.expectKey = true
	} else {
		top.index++
	}
}

// path names the current position: members joined by dots, array elements as [i].
func path(stack []*frame) string {
	var b strings.Builder
	for _, f := range stack {
		if f.object {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		} else {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		}
	}
	return b.String()
}

// validString reports whether the raw text of one string token (with whatever separator and white space came
// before it) is valid UTF-8 whose \u escapes pair every surrogate.
func validString(raw []byte) bool {
	raw = raw[bytes.IndexByte(raw, '"')+1 : len(raw)-1]
	if !utf8.Valid(raw) {
		return false
	}
	pendingHigh := false // the previous escape was a high surrogate
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			if pendingHigh {
				return false
			}
			continue
		}
		i++
		if raw[i] != 'u' {
			if pendingHigh {
				return false
			}
			continue
		}
		r, _ := strconv.ParseUint(string(raw[i+1:i+5]), 16, 16) // the decoder checked the four hex digits
		i += 4
		switch {
		case r >= 0xd800 && r < 0xdc00:
			if pendingHigh {
				return false
			}
			pendingHigh = true
		case r >= 0xdc00 && r < 0xe000:
			if !pendingHigh {
				return false
			}
			pendingHigh = false
		default:
			if pendingHigh {
				return false
			}
		}
	}
	return !pendingHigh
}

// fold maps a member name to one representative of its case-folding class (as encoding/json matches names).
func fold(s string) string {
	var b strings.Builder
	for _, r := range s {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		b.WriteRune(min)
	}
	return b.String()
}
