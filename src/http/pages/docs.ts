/**
 * /docs: a self-contained page that reads /openapi.json and lists every operation with its
 * parameters, body schema and responses. No external scripts (the service may run offline).
 */
export const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>eseal API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:0;color:#222}header{background:#b71c1c;color:#fff;padding:1rem 2rem}
main{padding:1rem 2rem;max-width:70rem}details{border:1px solid #ddd;border-radius:4px;margin:.4rem 0}
summary{padding:.5rem;cursor:pointer}code,pre{font-family:ui-monospace,monospace}pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:.85em}
.m{display:inline-block;width:4.5em;font-weight:bold;text-transform:uppercase}.get{color:#1565c0}.post{color:#2e7d32}.delete{color:#c62828}.put{color:#ef6c00}
.roles{color:#666;font-size:.85em;margin-left:1em}
</style></head><body><header><h1>eseal API</h1><p>OpenAPI 3.1 document: <a style="color:#fff" href="/openapi.json">/openapi.json</a></p></header>
<main id="ops">Loading…</main>
<script>
fetch('/openapi.json').then(r=>r.json()).then(doc=>{
  const main=document.getElementById('ops');main.textContent='';
  const p=document.createElement('p');p.textContent=doc.info.description;main.appendChild(p);
  for(const [path,ops] of Object.entries(doc.paths)){for(const [method,op] of Object.entries(ops)){
    const d=document.createElement('details');const s=document.createElement('summary');
    const m=document.createElement('span');m.className='m '+method;m.textContent=method;s.appendChild(m);
    const c=document.createElement('code');c.textContent=path;s.appendChild(c);
    s.appendChild(document.createTextNode(' — '+op.summary));
    if(op['x-roles']){const r=document.createElement('span');r.className='roles';r.textContent='roles: '+op['x-roles'].join(', ');s.appendChild(r);}
    d.appendChild(s);const pre=document.createElement('pre');
    pre.textContent=JSON.stringify({parameters:op.parameters,requestBody:op.requestBody,responses:op.responses},null,2);
    d.appendChild(pre);main.appendChild(d);}}
});
</script></body></html>`;
