"""TLS for the server itself (`serve --ssl-certfile/--ssl-keyfile`: HTTPS and WSS)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# TLS 1.2 suites of Mozilla's "intermediate" configuration: forward secrecy and AEAD only. TLS 1.3
# suites are not set by this list and stay on; Python's contexts refuse anything below TLS 1.2.
SERVER_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "DHE-RSA-AES128-GCM-SHA256",
        "DHE-RSA-AES256-GCM-SHA384",
        "DHE-RSA-CHACHA20-POLY1305",
    )
)


class TlsConfigError(ValueError):
    """Server TLS files that cannot be used."""


@dataclass(frozen=True)
class ServerTls:
    """The certificate chain (PEM, leaf first) and its private key; the key may be in the same file."""

    certfile: Path
    keyfile: Path | None = None

    @classmethod
    def of(cls, certfile: Path | None, keyfile: Path | None) -> ServerTls | None:
        """The configuration for these paths; None without a certificate (plain HTTP)."""
        if certfile is None:
            if keyfile is not None:
                raise TlsConfigError("--ssl-keyfile (SSL_KEYFILE) needs --ssl-certfile (SSL_CERTFILE)")
            return None
        return cls(certfile, keyfile)

    def check(self) -> None:
        """Load the files once, so that a wrong path or a key of another certificate stops `serve`
        with a clear message before any worker starts."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(self.certfile, self.keyfile)
            context.set_ciphers(SERVER_CIPHERS)
        except (OSError, ssl.SSLError) as exc:
            raise TlsConfigError(
                f"cannot use {self.certfile} / {self.keyfile or '(key in it)'}: {exc}"
            ) from exc

    def uvicorn_options(self) -> dict[str, Any]:
        """Keyword arguments of `uvicorn.run` for this certificate."""
        return {
            "ssl_certfile": str(self.certfile),
            "ssl_keyfile": str(self.keyfile) if self.keyfile else None,
            "ssl_ciphers": SERVER_CIPHERS,
        }
