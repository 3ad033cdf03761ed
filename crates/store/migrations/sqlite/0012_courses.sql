-- Training inside Custody: courses written by the owner's admins, published
-- in versions (pages, quiz with its correct answers, pass mark, validity),
-- quiz attempts, and completions (passed quizzes, or courses completed
-- elsewhere recorded with evidence). Rooms and classifications require courses
-- through room_qualifications / classification_qualifications (0011) with
-- kind `course` and the course's id as key. Do not edit once released: add a
-- new migration.

CREATE TABLE courses (
    id           TEXT    NOT NULL PRIMARY KEY,
    title        TEXT    NOT NULL,
    -- the latest published version (from 1)
    version      BIGINT  NOT NULL,
    -- completions of versions before this one no longer count
    retake_from  BIGINT  NOT NULL,
    created_by   TEXT    NOT NULL REFERENCES users (id),
    created_ms   BIGINT  NOT NULL,
    updated_ms   BIGINT  NOT NULL
);

CREATE TABLE course_versions (
    course_id     TEXT    NOT NULL REFERENCES courses (id),
    version       BIGINT  NOT NULL,
    -- JSON: title, pages, questions (with the correct answers: never sent to
    -- a user taking the course), pass mark, validity, requires_retake
    content       TEXT    NOT NULL,
    published_by  TEXT    NOT NULL REFERENCES users (id),
    published_ms  BIGINT  NOT NULL,
    PRIMARY KEY (course_id, version)
);

-- Every quiz attempt, passed or not (attempts per hour are bounded).
CREATE TABLE course_attempts (
    id             TEXT    NOT NULL PRIMARY KEY,
    course_id      TEXT    NOT NULL REFERENCES courses (id),
    version        BIGINT  NOT NULL,
    user_id        TEXT    NOT NULL REFERENCES users (id),
    score_percent  BIGINT  NOT NULL,
    passed         BIGINT  NOT NULL,
    attempted_ms   BIGINT  NOT NULL
);
CREATE INDEX course_attempts_user ON course_attempts (user_id, course_id, attempted_ms);

CREATE TABLE course_completions (
    id              TEXT    NOT NULL PRIMARY KEY,
    course_id       TEXT    NOT NULL REFERENCES courses (id),
    version         BIGINT  NOT NULL,
    user_id         TEXT    NOT NULL REFERENCES users (id),
    -- NULL for a course completed elsewhere
    score_percent   BIGINT,
    completed_ms    BIGINT  NOT NULL,
    valid_until_ms  BIGINT  NOT NULL,
    -- for a course completed elsewhere: the evidence (a file in a room shared
    -- with the user's party) and who of the owner's staff recorded it
    evidence_file   TEXT,
    recorded_by     TEXT    REFERENCES users (id)
);
CREATE INDEX course_completions_user ON course_completions (user_id, course_id);
CREATE INDEX course_completions_until ON course_completions (valid_until_ms);
