package store

import (
	"errors"

	"gorm.io/gorm"

	"github.com/affrelay/affrelay/apperr"
)

// NotFound turns a missing row into apperr.ErrNotFound naming what was looked for; other errors pass through.
func NotFound(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return apperr.NotFound(what)
	}
	return err
}
