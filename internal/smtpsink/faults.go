package smtpsink

import (
	"hash/fnv"
	"strconv"
)

// RandomFaults returns a Decide function that injects faults at the given
// rates (fractions in [0, 1]), deterministically for a seed.
//
// A permanent refusal is decided by a hash of the Message-ID, so it is
// sticky: a message refused with 550 is refused again when retried, as a
// real server would (a mailbox that does not exist does not appear on the
// next attempt). Temporary refusals and drops are decided by the sequence
// number, so a retried message eventually gets through. The returned
// function is stateless and safe for concurrent use.
func RandomFaults(seed int64, temp, perm, drop float64) func(seq int64, messageID string) Fault {
	return func(seq int64, messageID string) Fault {
		if perm > 0 && unit(seed, "perm:"+messageID) < perm {
			return PermFail
		}
		u := unit(seed, "seq:"+strconv.FormatInt(seq, 10))
		switch {
		case u < temp:
			return TempFail
		case u < temp+drop:
			return Drop
		}
		return None
	}
}

// unit hashes seed and s to a number uniformly spread in [0, 1).
func unit(seed int64, s string) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(strconv.FormatInt(seed, 10) + "\x00" + s))
	// FNV's low bits are well mixed but its high bits less so for short
	// inputs; a final avalanche (splitmix64's) evens them out.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}
