/** `crosstalk token`'s help, apart from its code: the usage text loads no key or JWT code. */
export const TOKEN_USAGE = `  crosstalk token --iss <issuer> --url <service URL> (--key-file <private key> | --key <private JWK>)
      [--kid <kid>] [--alg <alg>] [--tenant <tenant>] [--expires-in <seconds>] [--trusted-clients <file>]
      Print a short-lived client JWT, as that trusted client's EHR would sign it, for the URL to be called (its
      aud): a way to try a registered service with curl. The issuer must be in the trusted clients file
      (--trusted-clients or CROSSTALK_TRUSTED_CLIENTS); the key is a PEM or JWK private key file, or a JWK given
      on the command line (a development key). jti is random; the token lives 300 s unless --expires-in says less.
`;
