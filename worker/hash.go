package worker

import "crypto/sha256"

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:16]
}
