create table notes (note text);
