-- Ids merged into a person (identify/alias), so that a candidate scored under an old id is judged as the person.
create table persons (
  id     text primary key,
  person text not null
);
create index persons_by_person on persons (person);
