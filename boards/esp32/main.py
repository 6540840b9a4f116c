import board
from boardmain import main

main(board)
