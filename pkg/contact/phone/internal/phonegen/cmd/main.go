// Command phonegen writes the phone package's metadata_gen.go (run by go generate in
// pkg/contact/phone).
package main

import (
	"log"
	"os"

	"github.com/mfa-service/mfa/pkg/contact/phone/internal/phonegen"
)

func main() {
	src, err := phonegen.Generate()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("metadata_gen.go", src, 0o644); err != nil {
		log.Fatal(err)
	}
}
