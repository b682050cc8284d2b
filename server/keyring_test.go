package server

import "github.com/affrelay/affrelay/store"

// The tests' secrets are sealed at rest like the app's, under a key made for the test process.
func init() {
	if err := store.UseRandomKeyring(); err != nil {
		panic(err)
	}
}
