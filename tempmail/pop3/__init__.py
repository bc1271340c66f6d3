"""The POP3 door (RFC 1939 with CAPA and response codes of RFC 2449, STLS of RFC 2595 and
SASL PLAIN of RFC 5034): an ordinary mail client reads an inbox with its address as the user
name and its token as the password."""
