-- Finding ids are written as AWS writes them, UUID-like: the 32 hex digits
-- of an id KIND/HEX become HEX in groups of 8-4-4-4-12, in the row and in
-- its document.
UPDATE findings
SET id = substr(id, instr(id, '/') + 1, 8) || '-' || substr(id, instr(id, '/') + 9, 4) || '-' ||
         substr(id, instr(id, '/') + 13, 4) || '-' || substr(id, instr(id, '/') + 17, 4) || '-' ||
         substr(id, instr(id, '/') + 21, 12)
WHERE instr(id, '/') > 0 AND length(id) = instr(id, '/') + 32;

UPDATE findings SET doc = json_set(doc, '$.id', id) WHERE json_extract(doc, '$.id') <> id;
