DROP INDEX users_people;
