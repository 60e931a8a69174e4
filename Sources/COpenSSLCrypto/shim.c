// Empty: COpenSSLCrypto is a header-only bridge to the system libcrypto.
