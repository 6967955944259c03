package config

import "net/mail"

// parseAddress checks an RFC 5322 address such as "Sở Nội vụ <a@b.vn>".
func parseAddress(s string) (*mail.Address, error) { return mail.ParseAddress(s) }
