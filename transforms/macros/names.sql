-- How names are compared, written once (docs/metrics.md, Who is a CSM; Hours). A person is
-- their e-mail, trimmed and lower-cased, no e-mail being NULL rather than ''; account, client
-- and project names are compared case-insensitively with whitespace and punctuation folded.
create or replace macro fold_email(email) as
    nullif(lower(trim(email)), '');

create or replace macro fold_name(name) as
    regexp_replace(lower(name), '[^\p{L}\p{N}]+', '', 'g');
