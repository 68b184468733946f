//= require greeting
document.title = greeting();
