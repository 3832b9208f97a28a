// The JSON API (documented at /openapi.json). Every call rejects with an Error whose message is the
// server's "detail" text, so the page can show it as it is.

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function answer(response) {
  if (response.ok) return response;
  let detail = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.detail) detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  } catch (_) { /* not JSON */ }
  throw new ApiError(detail, response.status);
}

export async function getJSON(path, { signal } = {}) {
  const response = await fetch(path, { signal, headers: { Accept: "application/json" } });
  return (await answer(response)).json();
}

export async function postJSON(path, body, { signal } = {}) {
  const response = await fetch(path, {
    method: "POST", signal, body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", Accept: "application/json" },
  });
  return (await answer(response)).json();
}

export async function postBlob(path, body, { signal } = {}) {
  const response = await fetch(path, {
    method: "POST", signal, body: JSON.stringify(body),
    headers: { "Content-Type": "application/json" },
  });
  return (await answer(response)).blob();
}
