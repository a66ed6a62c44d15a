#!/bin/sh
# The CGI of "the internet" (tools/internet, tests/14-nat-ports.bats): it
# answers with the address that asked. busybox httpd listens on IPv6 too,
# and gives an IPv4 peer as [::ffff:A.B.C.D]; busybox 1.35's wget crashes on
# an answer with no Content-Length.
from=${REMOTE_ADDR#[[]::ffff:}
from=${from%]}
printf 'Content-Type: text/plain\r\nContent-Length: %s\r\n\r\n%s\n' $((${#from} + 1)) "$from"
