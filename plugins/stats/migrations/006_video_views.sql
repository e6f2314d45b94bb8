-- Video views: a user's plays of a video within one session (session_id, or '' without one).
create table video_views (
  video_id     text not null,
  user_id      text not null,
  session_key  text not null,
  plays        bigint not null,
  max_position numeric not null,
  duration     numeric,
  completed    boolean not null,
  primary key (video_id, user_id, session_key)
);
