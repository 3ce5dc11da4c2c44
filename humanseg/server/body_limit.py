"""A cap on the size of a request body (ASGI middleware). Without it, Starlette receives a whole multipart
upload, spooling its files to disk, before the endpoint can look at a single byte: an upload of any size
would be taken in, even in a part the endpoint never reads. A body whose Content-Length passes the cap is
refused with 413 before it is read; one sent in chunks without a length is cut off with 413 as soon as it
passes the cap."""
from __future__ import annotations

from fastapi import HTTPException
from fastapi.responses import JSONResponse


class BodyLimit:
    """Wraps an ASGI app; max_bytes: the most a request body may hold; why: what that limit is made of, for
    the message. Errors are the service's {"error": "..."} JSON."""

    def __init__(self, app, max_bytes: int, why: str = ""):
        self.app, self.max_bytes, self.why = app, max_bytes, why

    def too_large(self) -> str:
        return f"request body is larger than {self.max_bytes} bytes{f' ({self.why})' if self.why else ''}"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        refusal = None
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                refusal = (400, f"Content-Length '{length.decode('latin-1')}' is not a number of bytes")
            else:
                if declared > self.max_bytes:
                    refusal = (413, self.too_large())
        if refusal is not None:
            await JSONResponse({"error": refusal[1]}, status_code=refusal[0], headers={"Connection": "close"})(
                scope, receive, send)
            return
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:   # FastAPI passes an HTTPException raised while parsing on as it is
                    raise HTTPException(413, self.too_large())
            return message

        await self.app(scope, counted, send)
