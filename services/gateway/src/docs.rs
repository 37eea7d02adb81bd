//! `/openapi.json` and `/docs`: the API described from the handlers' annotations, and a page that
//! lists every operation with a form to try it (self-contained: no CDN needed).

use axum::Router;
use axum::http::header;
use axum::response::Html;
use axum::routing::get;

use crate::AppState;

/// `/openapi.json` (the description of every route, rendered once), `/docs` and `/healthz`.
pub fn routes(openapi: &utoipa::openapi::OpenApi) -> Router<AppState> {
    let json = openapi
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    Router::new()
        .route(
            "/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], json) }),
        )
        .route("/docs", get(|| async { Html(PAGE) }))
        .route("/healthz", get(|| async { "ok" }))
}

const PAGE: &str = r#"<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>HWX API</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem;color:#222}
h1{font-size:1.4rem} .op{border:1px solid #ccc;border-radius:6px;margin:.6rem 0;padding:.5rem .8rem}
.m{display:inline-block;width:4.5rem;font-weight:bold} .GET{color:#1565c0}.POST{color:#2e7d32}.PUT{color:#ef6c00}.DELETE{color:#c62828}
textarea{width:100%;height:6rem;font-family:monospace} pre{background:#f6f6f6;padding:.5rem;overflow:auto}
input{width:100%}
</style></head><body>
<h1>HWX API</h1>
<p>REST/JSON for portal frontends. Errors are <code>application/problem+json</code> with the rule ID
(<code>rule</code>) of the terms of use. Log in with <code>POST /v1/sessions</code> and paste the token below.</p>
<label>Bearer token <input id="token" placeholder="token from POST /v1/sessions"></label>
<div id="ops">loading /openapi.json…</div>
<script>
async function main(){
  const spec = await (await fetch('/openapi.json')).json();
  const root = document.getElementById('ops'); root.textContent='';
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const d = document.createElement('details'); d.className='op';
      const s = document.createElement('summary');
      s.innerHTML = `<span class="m ${method.toUpperCase()}">${method.toUpperCase()}</span> <code>${path}</code> ${op.summary||''}`;
      d.appendChild(s);
      const url = document.createElement('input'); url.value = path; d.appendChild(url);
      const body = document.createElement('textarea'); body.placeholder='JSON body'; if (method==='get') body.style.display='none'; d.appendChild(body);
      const b = document.createElement('button'); b.textContent='Send'; d.appendChild(b);
      const out = document.createElement('pre'); d.appendChild(out);
      b.onclick = async () => {
        const h = {'content-type':'application/json'}; const t = document.getElementById('token').value.trim();
        if (t) h['authorization'] = 'Bearer ' + t;
        const r = await fetch(url.value, {method: method.toUpperCase(), headers: h, body: method==='get'?undefined:(body.value||undefined)});
        const txt = await r.text(); out.textContent = r.status + ' ' + r.statusText + '\n' + txt;
      };
      root.appendChild(d);
    }
  }
}
main().catch(e => document.getElementById('ops').textContent = 'cannot load the API description: ' + e);
</script></body></html>"#;
